//! "Did you mean" support: orders the names that do exist by how close they are to a name that
//! was asked for, so that an error about a missing stage or test shows the likely one first.

/// The edit distance (insertions, deletions, substitutions) between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidates ordered closest first: names containing the wanted one (or contained in it)
/// before others, then by edit distance, then alphabetically so the order is stable.
pub fn closest_first<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut scored: Vec<(bool, usize, &str)> = candidates
        .into_iter()
        .map(|candidate| {
            let related = candidate.contains(wanted) || wanted.contains(candidate);
            (!related, edit_distance(wanted, candidate), candidate)
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    scored.into_iter().map(|(_, _, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("install", "instal"), 1);
    }

    #[test]
    fn related_names_come_first() {
        let order = closest_first(
            "test_content_type",
            [
                "test_custom_html_returns_200",
                "test_content_roundtrip",
                "test_content_type_html_and_txt",
            ],
        );
        assert_eq!(
            order,
            [
                "test_content_type_html_and_txt",
                "test_content_roundtrip",
                "test_custom_html_returns_200"
            ]
        );
        assert_eq!(
            closest_first("instal", ["upgrade", "install", "custom"])[0],
            "install"
        );
    }
}
