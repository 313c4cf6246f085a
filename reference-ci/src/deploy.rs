//! Deployments: a recipe revision's services running as processes, each with a volume under
//! `<artifacts>/deployments/<name>/volumes/<service>`. A deployment starts services in
//! dependency order, wiring each to its dependencies' fresh ports, and can stop, restart and
//! upgrade them (stop, run the target revision's migrations, start the target revision). It
//! never outlives its owner: dropping it stops every service.

use std::collections::BTreeSet;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::race::{self, Race};
use crate::recipe::Recipe;
use crate::secrets::Secrets;
use crate::service::{Ledger, ServiceProcess};
use crate::volumes;

/// What all deployments of one run share.
#[derive(Debug)]
pub struct RunEnv {
    /// The artifacts dir.
    pub artifacts: PathBuf,
    /// This run's secret values.
    pub secrets: Secrets,
    /// Every service started in the run.
    pub ledger: Ledger,
}

impl RunEnv {
    /// `<artifacts>/services/<service>.log`, shared by all deployments of the run (each line
    /// says which deployment and revision wrote it).
    pub fn log_path(&self, service: &str) -> PathBuf {
        self.artifacts
            .join("services")
            .join(format!("{service}.log"))
    }

    /// `<artifacts>/deployments/<name>`.
    pub fn deployment_dir(&self, name: &str) -> PathBuf {
        self.artifacts.join("deployments").join(name)
    }
}

/// A running (or stopped) deployment of one recipe revision.
#[derive(Debug)]
pub struct Deployment<'e> {
    name: String,
    env: &'e RunEnv,
    recipe: Recipe,
    volumes: PathBuf,
    running: Vec<ServiceProcess>,
}

impl<'e> Deployment<'e> {
    /// Deploys `recipe` from scratch: fresh volumes, every service started.
    pub fn deploy(name: &str, recipe: &Recipe, env: &'e RunEnv) -> Result<Deployment<'e>, Error> {
        let root = env.deployment_dir(name);
        volumes::remove_if_exists(&root)?;
        let volumes = root.join("volumes");
        for service in recipe.services.keys() {
            let dir = volumes::volume(&volumes, service);
            fs::create_dir_all(&dir)
                .map_err(|error| Error::io(format!("creating {}", dir.display()), error))?;
        }
        let mut deployment = Deployment {
            name: name.to_owned(),
            env,
            recipe: recipe.clone(),
            volumes,
            running: Vec::new(),
        };
        deployment.start(&BTreeSet::new())?;
        Ok(deployment)
    }

    /// The revision currently deployed.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// The folder holding the services' volumes.
    pub fn volumes(&self) -> &Path {
        &self.volumes
    }

    /// Where `service` listens.
    pub fn addr(&self, service: &str) -> Result<SocketAddr, Error> {
        self.running
            .iter()
            .find(|process| process.name() == service)
            .map(ServiceProcess::addr)
            .ok_or_else(|| Error::Service {
                service: service.to_owned(),
                message: format!("not running in deployment {}", self.name),
            })
    }

    /// Where the entry service listens.
    pub fn entry_addr(&self) -> Result<SocketAddr, Error> {
        self.addr(&self.recipe.meta.entry)
    }

    /// Every running service and its address, in start order.
    pub fn service_addrs(&self) -> Vec<(String, SocketAddr)> {
        self.running
            .iter()
            .map(|process| (process.name().to_owned(), process.addr()))
            .collect()
    }

    /// Starts every service of the current revision in dependency order; services named in
    /// `cold` get their declared cold start. On error the services already started keep
    /// running until the deployment is stopped or dropped.
    pub fn start(&mut self, cold: &BTreeSet<String>) -> Result<(), Error> {
        self.stop();
        let label = format!("{}@{}", self.name, self.recipe.rev);
        for name in &self.recipe.start_order {
            let Some(def) = self.recipe.services.get(name) else {
                continue;
            };
            let upstreams = def
                .depends_on
                .iter()
                .map(|dep| Ok((dep.clone(), self.addr(dep)?)))
                .collect::<Result<Vec<_>, Error>>()?;
            let args = ServeArgs {
                name: name.clone(),
                label: label.clone(),
                rev: self.recipe.rev.clone(),
                version: self.recipe.meta.version.clone(),
                docroot: def.docroot.as_deref().map(|p| self.recipe.data_file(p)),
                mime_types: def.mime_types.as_deref().map(|p| self.recipe.data_file(p)),
                data: def
                    .data_dir
                    .as_deref()
                    .map(|dir| volumes::volume(&self.volumes, name).join(dir)),
                upstreams,
                warmup_ms: if cold.contains(name) {
                    def.cold_start_ms
                } else {
                    0
                },
                parent_pid: Some(std::process::id()),
            };
            let token = def
                .write_secret
                .as_deref()
                .and_then(|secret| self.env.secrets.get(secret));
            let volume = volumes::volume(&self.volumes, name);
            let process = ServiceProcess::start(
                &args,
                token,
                &volume,
                &self.env.log_path(name),
                &self.env.ledger,
            )?;
            self.running.push(process);
        }
        Ok(())
    }

    /// Stops every service, dependents first.
    pub fn stop(&mut self) {
        while let Some(process) = self.running.pop() {
            process.stop();
        }
    }

    /// Stops and starts every service again (new ports), without cold starts.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.start(&BTreeSet::new())
    }

    /// Upgrades to `target`: stop, run `target`'s migrations on the volumes, start `target`.
    /// Services declaring a cold start draw from `race` whether this restart is a slow one.
    pub fn upgrade(&mut self, target: &Recipe, race: &mut Race) -> Result<(), Error> {
        self.stop();
        let report = volumes::migrate(&self.volumes, &target.migrations)?;
        for entry in &report.done {
            eprintln!("reference-ci: {}: migration {entry}", self.name);
        }
        for entry in &report.missing {
            eprintln!(
                "reference-ci: {}: migration {entry} skipped (nothing to migrate)",
                self.name
            );
        }
        // A service new in `target` gets an empty volume, as on a fresh install.
        for name in target.services.keys() {
            let volume = volumes::volume(&self.volumes, name);
            fs::create_dir_all(&volume)
                .map_err(|error| Error::io(format!("creating {}", volume.display()), error))?;
        }
        let mut cold = BTreeSet::new();
        for name in &target.start_order {
            let cold_start_ms = target.services.get(name).map_or(0, |def| def.cold_start_ms);
            if cold_start_ms > 0 && race.strikes() {
                eprintln!(
                    "reference-ci: {}: {name} comes back after a {cold_start_ms} ms cold start \
                     ({}={})",
                    self.name,
                    race::PROBABILITY_VAR,
                    race.probability()
                );
                cold.insert(name.clone());
            }
        }
        self.recipe = target.clone();
        self.start(&cold)
    }

    /// Stops everything; the volumes stay for inspection.
    pub fn teardown(mut self) {
        self.stop();
    }
}

impl Drop for Deployment<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}
