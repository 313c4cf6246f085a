// Lists the documents the backend holds, through the frontend's /api/backend/ proxy.
fetch("/api/backend/data/")
  .then((response) => response.text())
  .then((names) => {
    const list = document.getElementById("documents");
    for (const name of names.split("\n").filter(Boolean)) {
      const item = document.createElement("li");
      item.textContent = name;
      list.appendChild(item);
    }
  });
