//! Open files: a server holds one for each client connection.

/// Files kept back from client connections: connections to the replicas, etcd and the
/// database, and the process's own.
pub const RESERVED_FILES: u64 = 1024;

/// Raises this process's limit on open files to the most it may have (its hard limit), as the
/// soft limit many systems start with (1,024) is far below the connections a server keeps;
/// returns the limit now in force.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}
