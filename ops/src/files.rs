//! Open files: a server holds one for each client connection.

/// Raises this process's limit on open files to the most it may have (its hard limit), as the
/// soft limit many systems start with (1,024) is far below the connections a server keeps;
/// returns the limit now in force.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// How many client connections fit under a limit of `files` open files: the rest is kept for
/// the connections to the replicas, etcd and the database, and the process's own files (1,024,
/// or a quarter of a small limit).
pub fn connections_within(files: u64) -> usize {
    let kept = 1024.min(files / 4);
    usize::try_from(files - kept).unwrap_or(usize::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::connections_within;

    #[test]
    fn a_large_limit_keeps_1024_files_and_a_small_one_a_quarter() {
        assert_eq!(connections_within(20_000), 18_976);
        assert_eq!(connections_within(1_048_576), 1_047_552);
        assert_eq!(connections_within(1_024), 768);
        assert_eq!(connections_within(0), 1);
    }
}
