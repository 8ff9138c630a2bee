//! After a run: every acknowledged send stored exactly once with its send_time, send_times
//! strictly increasing per room, and page walks in both directions that repeat and skip nothing.

use std::collections::HashMap;

use serde::Serialize;

use crate::api::Api;

/// What a run sent into one room: acknowledged texts with their send_times, and the texts whose
/// send failed (they may or may not be stored).
#[derive(Default)]
pub struct RoomLedger {
    pub acked: HashMap<String, i64>,
    pub failed: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Verdict {
    pub rooms: usize,
    pub messages: usize,
    pub acknowledged: usize,
    pub stored_though_failed: usize,
    pub violations: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn print(&self) {
        println!(
            "integrity: {} ({} rooms, {} messages walked, {} acknowledged, {} stored though their send failed)",
            if self.passed() { "PASS" } else { "FAIL" },
            self.rooms,
            self.messages,
            self.acknowledged,
            self.stored_though_failed
        );
        for violation in self.violations.iter().take(20) {
            println!("  violation: {violation}");
        }
    }
}

pub async fn verify(api: &Api, ledgers: &HashMap<String, RoomLedger>) -> Verdict {
    let mut verdict = Verdict {
        rooms: ledgers.len(),
        ..Verdict::default()
    };
    for (chat, ledger) in ledgers {
        verdict.acknowledged += ledger.acked.len();
        let (forward, backward) = match (walk(api, chat, false).await, walk(api, chat, true).await)
        {
            (Ok(forward), Ok(backward)) => (forward, backward),
            (Err(err), _) | (_, Err(err)) => {
                verdict
                    .violations
                    .push(format!("{chat}: cannot walk the room: {err}"));
                continue;
            }
        };
        verdict.messages += forward.len();
        check_room(chat, ledger, &forward, &backward, &mut verdict);
    }
    verdict
}

fn check_room(
    chat: &str,
    ledger: &RoomLedger,
    forward: &[(i64, String)],
    backward: &[(i64, String)],
    verdict: &mut Verdict,
) {
    if let Some(w) = forward.windows(2).find(|w| w[0].0 >= w[1].0) {
        verdict.violations.push(format!(
            "{chat}: send_time not strictly increasing: {} then {}",
            w[0].0, w[1].0
        ));
    }
    let mut reversed = backward.to_vec();
    reversed.reverse();
    if reversed != forward {
        verdict.violations.push(format!(
            "{chat}: the backward walk ({} messages) differs from the forward walk ({})",
            backward.len(),
            forward.len()
        ));
    }
    let mut seen: HashMap<&str, i64> = HashMap::new();
    for (send_time, text) in forward {
        if seen.insert(text, *send_time).is_some() {
            verdict
                .violations
                .push(format!("{chat}: {text:?} stored twice"));
        }
    }
    for (text, send_time) in &ledger.acked {
        match seen.get(text.as_str()) {
            None => verdict
                .violations
                .push(format!("{chat}: acknowledged {text:?} is lost")),
            Some(stored) if stored != send_time => verdict.violations.push(format!(
                "{chat}: {text:?} acknowledged at {send_time} but stored at {stored}"
            )),
            Some(_) => {}
        }
    }
    let failed: std::collections::HashSet<&str> =
        ledger.failed.iter().map(String::as_str).collect();
    for text in seen.keys() {
        if ledger.acked.contains_key(*text) {
            continue;
        }
        if failed.contains(text) {
            verdict.stored_though_failed += 1;
        } else {
            verdict
                .violations
                .push(format!("{chat}: {text:?} stored but never sent"));
        }
    }
}

/// Every message of the room, page by page with next_cursor.
pub async fn walk(api: &Api, chat: &str, reverse: bool) -> Result<Vec<(i64, String)>, String> {
    let mut all = Vec::new();
    let mut cursor = 0;
    loop {
        let page = api.pull(chat, cursor, 100, reverse, 0).await?;
        all.extend(page.messages);
        if !page.has_more {
            return Ok(all);
        }
        cursor = page.next_cursor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(acked: &[(&str, i64)], failed: &[&str]) -> RoomLedger {
        RoomLedger {
            acked: acked.iter().map(|(t, s)| (t.to_string(), *s)).collect(),
            failed: failed.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn run(ledger: &RoomLedger, forward: &[(i64, &str)]) -> Verdict {
        let forward: Vec<(i64, String)> =
            forward.iter().map(|(s, t)| (*s, t.to_string())).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let mut verdict = Verdict::default();
        check_room("a:b", ledger, &forward, &backward, &mut verdict);
        verdict
    }

    #[test]
    fn a_clean_room_passes() {
        let verdict = run(
            &ledger(&[("x", 1), ("y", 2)], &["z"]),
            &[(1, "x"), (2, "y"), (3, "z")],
        );
        assert!(verdict.passed(), "{:?}", verdict.violations);
        assert_eq!(verdict.stored_though_failed, 1);
    }

    #[test]
    fn lost_doubled_reordered_and_unknown_messages_are_violations() {
        assert!(!run(&ledger(&[("x", 1), ("y", 2)], &[]), &[(1, "x")]).passed());
        assert!(!run(&ledger(&[("x", 1)], &[]), &[(1, "x"), (2, "x")]).passed());
        assert!(!run(&ledger(&[("x", 2), ("y", 1)], &[]), &[(2, "x"), (1, "y")]).passed());
        assert!(!run(&ledger(&[("x", 1)], &[]), &[(1, "x"), (2, "ghost")]).passed());
        assert!(!run(&ledger(&[("x", 1)], &[]), &[(5, "x")]).passed());
    }
}
