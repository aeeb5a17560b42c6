//! The project root: the one directory every file read stays inside.
//!
//! Policies, request files, templates, Serverless `${file()}` includes, gate files, gate
//! globs and baselines are all opened through [`Root::open`] (or checked with
//! [`Root::resolve`]), so that a template or gate file cannot make the tool read
//! `/etc/passwd`, `../../secret.env` or `/proc/self/environ` and print it.
//!
//! The root is `--root DIR` ([`Root::new`]) or found from the input ([`Root::discover`]):
//! the git work tree that holds it (the nearest directory upwards with a `.git` entry),
//! else the current directory when the input is under it (but never `/`, the home
//! directory or a directory above it), else the input's own directory. A path is resolved (symbolic links, `..`) before it is compared with the
//! root, so a link cannot lead out of it. Standard input (`-`) is not a path and is not
//! confined: it is the user's own input.

use std::path::{Path, PathBuf};

/// Why a path may not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum RootError {
    /// The path resolves to a place outside the project root.
    #[error("{path} is outside the project root {root}: not read")]
    #[diagnostic(code(policy_sim::root::outside))]
    Outside {
        /// The path as given.
        path: String,
        /// The project root.
        root: String,
    },
    /// The path cannot be resolved or opened (it does not exist, ...).
    #[error("cannot read {path}: {detail}")]
    #[diagnostic(code(policy_sim::root::io))]
    Io {
        /// The path as given.
        path: String,
        /// The system's reason.
        detail: String,
    },
    /// The directory given as the project root cannot be used.
    #[error("the project root {dir} cannot be used: {detail}")]
    #[diagnostic(code(policy_sim::root::invalid))]
    Invalid {
        /// The directory as given.
        dir: String,
        /// Why.
        detail: String,
    },
}

/// True for a current directory too wide to be a project root: the file system's root,
/// the home directory (`$HOME`) or a directory above it. Run from there on a checkout
/// without `.git` (an unpacked archive), the current directory would let a template's
/// `${file(../.aws/credentials)}` be read, and shown in an error, as "inside the project".
fn too_wide(cwd: &Path) -> bool {
    if cwd.parent().is_none() {
        return true;
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .and_then(|h| std::fs::canonicalize(h).ok())
        .is_some_and(|home| home.starts_with(cwd))
}

/// The directory reads are confined to (canonical: symbolic links resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// The root `dir`, as given by the user (it must be a directory).
    pub fn new(dir: &Path) -> Result<Root, RootError> {
        let invalid = |detail: String| RootError::Invalid {
            dir: dir.display().to_string(),
            detail,
        };
        let dir = std::fs::canonicalize(dir).map_err(|e| invalid(e.to_string()))?;
        if !dir.is_dir() {
            return Err(invalid("not a directory".to_string()));
        }
        Ok(Root { dir })
    }

    /// The root of `input`: the git work tree that holds it, else the current directory
    /// when it holds the input (unless the current directory is `/`, the home directory or
    /// above it), else the input's directory. An input that cannot be
    /// resolved (it does not exist: its read will say so) gives the current directory.
    pub fn discover(input: &Path) -> Root {
        let cwd = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .unwrap_or_else(|_| PathBuf::from("/"));
        let Ok(input) = std::fs::canonicalize(input) else {
            return Root { dir: cwd };
        };
        let start = if input.is_dir() {
            input.as_path()
        } else {
            input.parent().unwrap_or(Path::new("/"))
        };
        if let Some(tree) = start
            .ancestors()
            .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
        {
            return Root {
                dir: tree.to_path_buf(),
            };
        }
        if input.starts_with(&cwd) && !too_wide(&cwd) {
            return Root { dir: cwd };
        }
        Root {
            dir: start.to_path_buf(),
        }
    }

    /// The root of several inputs: the root of the first one that is a path (not `-`),
    /// else the current directory. The others must be inside it.
    pub fn discover_first<'p>(inputs: impl IntoIterator<Item = &'p Path>) -> Root {
        let first = inputs.into_iter().find(|p| p.as_os_str() != "-");
        Root::discover(first.unwrap_or(Path::new(".")))
    }

    /// The root directory (canonical).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Does the canonical path `resolved` lie inside the root?
    pub fn contains(&self, resolved: &Path) -> bool {
        resolved.starts_with(&self.dir)
    }

    /// `path` resolved (symbolic links followed, `..` removed), when it lies inside the
    /// root. A path that exists but resolves to no file name (`/dev/stdin` on a pipe) is
    /// outside.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, RootError> {
        let shown = || path.display().to_string();
        let outside = || RootError::Outside {
            path: shown(),
            root: self.dir.display().to_string(),
        };
        match std::fs::canonicalize(path) {
            Ok(resolved) if self.contains(&resolved) => Ok(resolved),
            Ok(_) => Err(outside()),
            // It exists, yet has no path of its own (a link to a pipe): not a project file.
            Err(_) if std::fs::metadata(path).is_ok() => Err(outside()),
            Err(e) => Err(RootError::Io {
                path: shown(),
                detail: e.to_string(),
            }),
        }
    }

    /// Open an input the user named on the command line: a pipe or a socket (a process
    /// substitution `<(...)`, a FIFO) is the user's own stream, as standard input is, and
    /// is opened as named; anything else is opened inside the root ([`Root::open`]).
    /// Files that other files name (includes, gate globs) never take this path.
    pub fn open_input(&self, path: &Path) -> Result<std::fs::File, RootError> {
        if is_stream(path) {
            return std::fs::File::open(path).map_err(|e| RootError::Io {
                path: path.display().to_string(),
                detail: e.to_string(),
            });
        }
        self.open(path)
    }

    /// Open `path` for reading, when it lies inside the root (see [`Root::resolve`]).
    pub fn open(&self, path: &Path) -> Result<std::fs::File, RootError> {
        let resolved = self.resolve(path)?;
        std::fs::File::open(&resolved).map_err(|e| RootError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }
}

/// Is `path` (links followed) a pipe or a socket: a stream the user names, read as it
/// is (see [`Root::open_input`])?
#[cfg(unix)]
pub fn is_stream(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket())
}

/// Is `path` a pipe or a socket? Never, off Unix.
#[cfg(not(unix))]
pub fn is_stream(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("policy-sim-root-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("project/.git")).unwrap();
        std::fs::create_dir_all(dir.join("project/sub")).unwrap();
        std::fs::write(dir.join("secret.env"), "TOKEN=x").unwrap();
        std::fs::write(dir.join("project/sub/a.yml"), "a: 1").unwrap();
        dir
    }

    #[test]
    fn the_git_work_tree_is_the_root_and_nothing_leaves_it() {
        let dir = scratch("tree");
        let input = dir.join("project/sub/a.yml");
        let root = Root::discover(&input);
        assert_eq!(
            root.dir(),
            std::fs::canonicalize(dir.join("project")).unwrap()
        );
        assert!(root.open(&input).is_ok());
        let up = dir.join("project/sub/../../secret.env");
        let err = root.open(&up).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is outside the project root {}: not read",
                up.display(),
                root.dir().display()
            )
        );
        assert!(matches!(
            root.open(Path::new("/etc/passwd")),
            Err(RootError::Outside { .. })
        ));
        // A link inside the tree to a file outside it is resolved first.
        let link = dir.join("project/sub/link.env");
        std::os::unix::fs::symlink(dir.join("secret.env"), &link).unwrap();
        assert!(matches!(root.open(&link), Err(RootError::Outside { .. })));
        // A missing file is a read error, not a refusal.
        assert!(matches!(
            root.open(&dir.join("project/none.yml")),
            Err(RootError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_given_root_must_be_a_directory() {
        let dir = scratch("given");
        let err = Root::new(&dir.join("secret.env")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the project root {} cannot be used: not a directory",
                dir.join("secret.env").display()
            )
        );
        let root = Root::new(&dir).unwrap();
        assert!(root.open(&dir.join("secret.env")).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
