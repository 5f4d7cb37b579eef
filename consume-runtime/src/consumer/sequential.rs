//! The sequential loop (the default): one record at a time, in offset order, retried in
//! place; no task or channel per record. Also the careful loop the supervisor runs after a
//! crash (see [`Mode`]).

use rdkafka::message::Message as _;

use super::partition::{Cursor, Exit, Mode, Partition};
use super::settle::Settled;
use crate::handler::Handler;

pub(crate) async fn run<H, A>(handler: &H, p: &Partition, cur: &mut Cursor, mode: &Mode) -> Exit
where
    H: Handler<A>,
{
    let settle = p.settle();
    while let Some(msg) = p.recv(cur).await {
        let offset = msg.offset();
        cur.stored
            .received(offset, msg.timestamp().to_millis(), true);
        let settled = settle
            .message(handler, p.delivery(&msg), mode.poison_at(offset))
            .await;
        match settled {
            Settled::Handled => cur.stored.handled(1),
            Settled::Done => {}
            Settled::Interrupted => return Exit::Stopped,
        }
        cur.stored.done(offset, None);
        if mode.careful_done_at(offset) {
            return Exit::CarefulDone;
        }
    }
    Exit::Stopped
}
