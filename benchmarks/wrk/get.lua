-- GET with the partner's token (the path comes from the command line).
wrk.headers["Authorization"] = "Token " .. os.getenv("BENCH_TOKEN")
