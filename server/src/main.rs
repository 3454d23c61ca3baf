use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a request allocates and frees dozens
/// of small buffers (headers, form fields, JSON, SQL values), and glibc's
/// arenas spent ~12% of a device authorization's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    portcullis::cli::main()
}
