"""
Seconds from starting C{twistd -n mice-allinone} (a real process, a fresh
data directory) until the first alert and the first countermeasure are
visible through the console's JSON API.

    PYTHONPATH=$PWD python bench/bench_allinone_start.py [--base-port 25000]
"""

import argparse
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-port", type=int, default=25000)
    args = parser.parse_args()
    ports = [str(args.base_port + i) for i in range(5)]
    directory = tempfile.mkdtemp(prefix="allinone-")
    data = os.path.join(directory, "mice-data")
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    started = time.monotonic()
    process = subprocess.Popen(
        [twistd, "-n", "--pidfile=", "mice-allinone", "-d", data, "-p", ports[0],
         "--agent-port", ports[1], "--management-port", ports[2], "--reaction-port", ports[3],
         "--console-port", ports[4]], cwd=directory, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    found = {}
    try:
        base = f"http://127.0.0.1:{ports[4]}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        loggedIn = False
        while len(found) < 2 and time.monotonic() - started < 60:
            try:
                if not loggedIn:
                    with open(os.path.join(data, "console-password")) as f:
                        password = f.read().strip()
                    request = urllib.request.Request(
                        base + "/api/login", json.dumps({"user": "admin",
                                                         "password": password}).encode(),
                        {"Content-Type": "application/json"})
                    opener.open(request, timeout=5).read()
                    loggedIn = True
                alerts = json.load(opener.open(base + "/api/alerts?limit=1", timeout=5))
                if alerts["alerts"]:
                    found.setdefault("first alert", time.monotonic() - started)
                active = json.load(opener.open(base + "/api/countermeasures", timeout=5))
                if active["countermeasures"]:
                    found.setdefault("first countermeasure", time.monotonic() - started)
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(directory, ignore_errors=True)
    for what, seconds in sorted(found.items(), key=lambda item: item[1]):
        print(f"{what}: {seconds:.2f} s after start")
    return 0 if len(found) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
