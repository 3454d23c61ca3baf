use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a request allocates and frees dozens
/// of small buffers (headers, form fields, JSON, SQL values), and glibc's
/// arenas spent a noticeable share of the CPU on them (tests/perf/RESULTS.md,
/// "Design notes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    portcullis::cli::main()
}
