//! The handlers of the scaling runs (`scaling.rs`, run by `member.rs` in a child process):
//! 50 no-op handlers on `${BENCH_SCALE_TOPIC}`, each in its own group
//! (`${BENCH_SCALE_GROUP}-NN`, so each is its own librdkafka consumer and reads the whole
//! topic), of which a run selects the first N; and one slow handler for the backlog run.

use consume_runtime::consume;

/// The no-op handlers, in order; a run with N handlers selects the first N.
pub(crate) const SCALE: [&str; 50] = [
    "scale_00", "scale_01", "scale_02", "scale_03", "scale_04", "scale_05", "scale_06", "scale_07",
    "scale_08", "scale_09", "scale_10", "scale_11", "scale_12", "scale_13", "scale_14", "scale_15",
    "scale_16", "scale_17", "scale_18", "scale_19", "scale_20", "scale_21", "scale_22", "scale_23",
    "scale_24", "scale_25", "scale_26", "scale_27", "scale_28", "scale_29", "scale_30", "scale_31",
    "scale_32", "scale_33", "scale_34", "scale_35", "scale_36", "scale_37", "scale_38", "scale_39",
    "scale_40", "scale_41", "scale_42", "scale_43", "scale_44", "scale_45", "scale_46", "scale_47",
    "scale_48", "scale_49",
];

/// The backlog run's handler: [`bench_backlog`].
pub(crate) const BACKLOG: &str = "bench_backlog";

/// 1 ms per record: far slower than the fetcher, so librdkafka's per-partition fetch queues
/// fill up to their bounds, whose memory the backlog run measures.
#[consume(topic = "${BENCH_SCALE_TOPIC}", group = "${BENCH_SCALE_GROUP}")]
async fn bench_backlog() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}

/// One no-op `#[consume]` handler per `name "group"` pair.
macro_rules! no_op_handlers {
    ($($name:ident $group:literal,)*) => {
        $(
            #[consume(topic = "${BENCH_SCALE_TOPIC}", group = $group)]
            async fn $name() {}
        )*
    };
}

no_op_handlers! {
    scale_00 "${BENCH_SCALE_GROUP}-00",
    scale_01 "${BENCH_SCALE_GROUP}-01",
    scale_02 "${BENCH_SCALE_GROUP}-02",
    scale_03 "${BENCH_SCALE_GROUP}-03",
    scale_04 "${BENCH_SCALE_GROUP}-04",
    scale_05 "${BENCH_SCALE_GROUP}-05",
    scale_06 "${BENCH_SCALE_GROUP}-06",
    scale_07 "${BENCH_SCALE_GROUP}-07",
    scale_08 "${BENCH_SCALE_GROUP}-08",
    scale_09 "${BENCH_SCALE_GROUP}-09",
    scale_10 "${BENCH_SCALE_GROUP}-10",
    scale_11 "${BENCH_SCALE_GROUP}-11",
    scale_12 "${BENCH_SCALE_GROUP}-12",
    scale_13 "${BENCH_SCALE_GROUP}-13",
    scale_14 "${BENCH_SCALE_GROUP}-14",
    scale_15 "${BENCH_SCALE_GROUP}-15",
    scale_16 "${BENCH_SCALE_GROUP}-16",
    scale_17 "${BENCH_SCALE_GROUP}-17",
    scale_18 "${BENCH_SCALE_GROUP}-18",
    scale_19 "${BENCH_SCALE_GROUP}-19",
    scale_20 "${BENCH_SCALE_GROUP}-20",
    scale_21 "${BENCH_SCALE_GROUP}-21",
    scale_22 "${BENCH_SCALE_GROUP}-22",
    scale_23 "${BENCH_SCALE_GROUP}-23",
    scale_24 "${BENCH_SCALE_GROUP}-24",
    scale_25 "${BENCH_SCALE_GROUP}-25",
    scale_26 "${BENCH_SCALE_GROUP}-26",
    scale_27 "${BENCH_SCALE_GROUP}-27",
    scale_28 "${BENCH_SCALE_GROUP}-28",
    scale_29 "${BENCH_SCALE_GROUP}-29",
    scale_30 "${BENCH_SCALE_GROUP}-30",
    scale_31 "${BENCH_SCALE_GROUP}-31",
    scale_32 "${BENCH_SCALE_GROUP}-32",
    scale_33 "${BENCH_SCALE_GROUP}-33",
    scale_34 "${BENCH_SCALE_GROUP}-34",
    scale_35 "${BENCH_SCALE_GROUP}-35",
    scale_36 "${BENCH_SCALE_GROUP}-36",
    scale_37 "${BENCH_SCALE_GROUP}-37",
    scale_38 "${BENCH_SCALE_GROUP}-38",
    scale_39 "${BENCH_SCALE_GROUP}-39",
    scale_40 "${BENCH_SCALE_GROUP}-40",
    scale_41 "${BENCH_SCALE_GROUP}-41",
    scale_42 "${BENCH_SCALE_GROUP}-42",
    scale_43 "${BENCH_SCALE_GROUP}-43",
    scale_44 "${BENCH_SCALE_GROUP}-44",
    scale_45 "${BENCH_SCALE_GROUP}-45",
    scale_46 "${BENCH_SCALE_GROUP}-46",
    scale_47 "${BENCH_SCALE_GROUP}-47",
    scale_48 "${BENCH_SCALE_GROUP}-48",
    scale_49 "${BENCH_SCALE_GROUP}-49",
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_scale_handler_is_registered() {
        let names: Vec<&str> = consume_runtime::registrations()
            .iter()
            .map(|r| r.name)
            .collect();
        for n in super::SCALE.iter().chain([&super::BACKLOG]) {
            assert!(names.contains(n), "{n} is not registered");
        }
    }
}
