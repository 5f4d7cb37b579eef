//! Every per-handler option, accepted and written into the registration.
use consume_runtime::{consume, registrations, Batch, BatchOptions, DeadLetter, Json, Key, State};

#[consume(topic = "a", group = "g", concurrency = 64, max_attempts = 3, backoff = "50ms", max_backoff = "2s")]
async fn concurrent(_k: Key<String>) {}

#[consume(topic = "b", group = "g", batch = 500, batch_linger = "20ms", dead_letter = "b.failed")]
async fn batched(_b: Batch<(Key<String>, Json<u32>)>, _s: State<u8>) {}

#[consume(topic = "c", group = "g", dead_letter = false)]
async fn no_dead_letters() {}

fn main() {
    let regs = registrations();
    let find = |n: &str| regs.iter().find(|r| r.name == n).expect("registered").options;
    let c = find("concurrent");
    assert_eq!((c.concurrency, c.max_attempts, c.backoff_ms, c.max_backoff_ms), (64, Some(3), Some(50), Some(2000)));
    let b = find("batched");
    assert_eq!(b.batch, Some(BatchOptions { max_size: 500, max_linger_ms: 20 }));
    assert_eq!(b.dead_letter, DeadLetter::Topic("b.failed"));
    assert_eq!(find("no_dead_letters").dead_letter, DeadLetter::Off);
}
