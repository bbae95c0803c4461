-- wrk: POST the JSON record in the file named by WRK_BODY.
local file = io.open(os.getenv("WRK_BODY"), "r")
wrk.method = "POST"
wrk.body = file:read("*a")
wrk.headers["Content-Type"] = "application/json"
file:close()
