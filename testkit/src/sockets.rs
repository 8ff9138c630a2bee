//! Counting this host's TCP connections, from /proc/net: how many connections a server holds.

/// Established TCP connections whose local port is `port` (IPv4 and IPv6): the connections a
/// server listening on `port` has accepted and still holds.
pub fn connections_accepted_on(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .map(|table| {
            table
                .lines()
                .skip(1)
                .filter(|line| {
                    let mut fields = line.split_whitespace();
                    let local = fields.nth(1).unwrap_or_default();
                    let state = fields.nth(1).unwrap_or_default();
                    let local_port = local.rsplit(':').next().unwrap_or_default();
                    state == "01" && u16::from_str_radix(local_port, 16) == Ok(port)
                })
                .count()
        })
        .sum()
}
