fn main() -> std::process::ExitCode {
    restoregrad::cli::main()
}
