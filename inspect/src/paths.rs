//! The distribution files under a path, as `airlock scan` and the scan
//! benchmark read them: a file named is taken whatever its name; a folder is
//! walked in name order and only files whose name says they are a
//! distribution ([`DistKind::of`]) are taken. Reads directory listings
//! only, never a file's contents.

use std::path::{Path, PathBuf};

use crate::report::DistKind;

/// The files to scan under `path`, in a stable order. A path that is
/// neither a file nor a folder is an error naming it.
pub fn distribution_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() && !path.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} does not exist", path.display())));
    }
    let mut out = Vec::new();
    collect(path, &mut out)?;
    Ok(out)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() || is_distribution(&entry) {
                collect(&entry, out)?;
            }
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn is_distribution(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    DistKind::of(name) != DistKind::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_yield_their_distributions_in_name_order_and_a_named_file_always() {
        let dir = std::env::temp_dir().join(format!("airlock-paths-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["b-1.0.tar.gz", "notes.txt", "sub/a-1.0-py3-none-any.whl"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        let found = distribution_files(&dir).unwrap();
        assert_eq!(found, vec![dir.join("b-1.0.tar.gz"), dir.join("sub/a-1.0-py3-none-any.whl")]);
        assert_eq!(distribution_files(&dir.join("notes.txt")).unwrap(), vec![dir.join("notes.txt")]);
        let missing = distribution_files(&dir.join("nothing-here")).unwrap_err().to_string();
        assert!(missing.ends_with("nothing-here does not exist"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
