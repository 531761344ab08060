//! Which processes run where: instances are found by their working directory under the data
//! dir (`work/SERVICE/ENVIRONMENT/VERSION/…`), read from `/proc/PID/cwd`.

use std::path::{Path, PathBuf};

/// The working directories, under `dir`, of every process running now.
pub fn processes_under(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|p| std::fs::read_link(p.path().join("cwd")).ok())
        .filter(|cwd| cwd.starts_with(dir))
        .collect()
}
