//! The training-hours service (under construction: see the project's issues).

fn main() {
    eprintln!("training-service: not implemented yet");
    std::process::exit(2);
}
