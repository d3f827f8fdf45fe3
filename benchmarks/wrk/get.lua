-- GET with the partner's token (the path comes from the command line).
dofile(os.getenv("BENCH_WRK_DIR") .. "/checked.lua")
wrk.headers["Authorization"] = "Token " .. os.getenv("BENCH_TOKEN")
