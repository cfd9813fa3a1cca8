#!/usr/bin/env bash
# `make reliability-report`: runs the hardening suites at their report sizes and writes the
# figures table of docs/RELIABILITY.md (between its two "figures" markers):
#   hostile inputs tried and crashes      tests/hostile/sip_hostile_test.py --all
#   kill -9 cycles and rows lost          tests/reliability/db_faults_test.py --cycles 50 --only D1,D2
#   L1 short: calls, descriptors, memory  tests/reliability/load_test.py
#   calls admitted and refused (L4), legitimate calls during a flood (L5)
#                                         tests/reliability/overload_test.py
#   fuzz executions and crashes           scripts/fuzz.sh 60 (its summary lines), and the
#                                         regression inputs kept in fuzz/regressions/
#   RSS slope over the soak               build/soak.log, which `make soak` writes (the soak is
#                                         an hour, so it is not run here; without the log the
#                                         table's previous soak row is kept)
# Usage: scripts/reliability_report.sh [PATH_TO_callflow]   (FUZZ_SECONDS=0 skips the fuzzing)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
callflow=$(realpath "${1:-$root/build/callflow}")
fuzz_seconds=${FUZZ_SECONDS:-60}
# The commit the runs are of (the tree may move on while they run); "+" when it had changes.
commit=$(git -C "$root" rev-parse --short HEAD)
git -C "$root" diff --quiet HEAD -- src include fuzz tests || commit+="+"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$root"

echo "reliability-report: hostile SIP (every generated case)"
python3 tests/hostile/sip_hostile_test.py "$callflow" "$root" --all >"$out/sip.log" 2>&1 || true
echo "reliability-report: kill -9 cycles (50 each for leads and calls)"
python3 tests/reliability/db_faults_test.py "$callflow" "$root" --cycles 50 --only D1,D2 \
  >"$out/db.log" 2>&1 || true
echo "reliability-report: load tiers L0 and L1 (short)"
python3 tests/reliability/load_test.py "$callflow" "$root" >"$out/load.log" 2>&1 || true
echo "reliability-report: overload and flood"
python3 tests/reliability/overload_test.py "$callflow" "$root" >"$out/overload.log" 2>&1 || true
if [[ "$fuzz_seconds" != 0 ]]; then
  echo "reliability-report: fuzzing, $fuzz_seconds s per target"
  bash scripts/fuzz.sh "$fuzz_seconds" >"$out/fuzz.log" 2>&1 || true
fi

python3 - "$out" "$fuzz_seconds" "$commit" <<'PY'
import datetime, os, re, sys
out, fuzz_seconds, commit = sys.argv[1], sys.argv[2], sys.argv[3]

def read(path):
    try:
        return open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return ""

def grab(text, pattern):
    """The groups of PATTERN's first match, numbers written with thousands separators."""
    m = re.search(pattern, text)
    return tuple("{:,}".format(int(g)) if g and g.isdigit() else g for g in m.groups()) \
        if m else None

sip, db, ov, load = (read(os.path.join(out, n))
                     for n in ("sip.log", "db.log", "overload.log", "load.log"))
fuzz, soak = read(os.path.join(out, "fuzz.log")), read("build/soak.log")
rows = []
inputs = grab(sip, r"hostile inputs: (\d+)")
crashes = grab(sip, r"no server crash \((\d+) crashes, (\d+) hangs")
summary = grab(sip, r"(\d+) passed, (\d+) failed")
rows.append(("Hostile SIP inputs tried (own corpus, every PROTOS-style case); server crashes",
             "%s inputs; %s" % (inputs[0] if inputs else "n/a",
                                "%s crashes, %s hangs" % crashes if crashes else "n/a"),
             ">= 500 inputs, 0 crashes",
             "checks: %s passed, %s failed" % summary if summary else "see the suite's log"))
d1 = grab(db, r"(?m)^kill -9 cycles: (\d+), acknowledged rows lost: (\d+)")
d2 = grab(db, r"D2 kill -9 cycles: (\d+), answered calls without a record: (\d+)")
rows.append(("kill -9 during lead writes (D1): cycles; acknowledged rows lost",
             "%s cycles; %s lost" % d1 if d1 else "n/a", "0 lost over 50 cycles",
             "integrity_check after every restart"))
rows.append(("kill -9 during calls (D2): cycles; answered calls without a record",
             "%s cycles; %s without" % d2 if d2 else "n/a", "0",
             "open records closed \"interrupted\" at restart"))
l1 = grab(load, r"L1: (\d+) of (\d+) calls answered")
fds = grab(load, r"descriptors back to where they were \((\d+) before, (\d+) after\)")
rss = grab(load, r"\(([\d.]+) MiB then, ([\d.]+) at the end\)")
l1_failed = re.search(r"(?m)^FAIL +L[01]", load) is not None
rows.append(("Steady load (L1 short: 300 calls at 5/s, at most 80 at once): calls completed",
             "%s of %s" % l1 if l1 else "n/a", "0 failed",
             "%s%s%s" % ("descriptors %s before, %s after; " % fds if fds else "",
                         "RSS %s MiB after warm-up, %s at the end; " % rss if rss else "",
                         "a check failed, see the suite" if l1_failed else
                         "RTP of 3 sampled calls without a gap")))
l4 = grab(ov, r"L4: (\d+) answered, (\d+) refused of (\d+)")
l4_failed = re.search(r"(?m)^FAIL.*L4", ov) is not None
rows.append(("Overload burst (L4: 40 calls at 200/s; max 10 at once, 5/s)",
             "%s admitted; %s refused with 503 + Retry-After" % l4[:2] if l4 else "n/a",
             "admitted unharmed",
             ("a check failed, see the suite" if l4_failed else
              "every admitted call completed, hung up by the caller") if l4 else ""))
l5 = grab(ov, r"flood of (\d+) INVITEs .*completed (\d+) of (\d+)")
rows.append(("Legitimate calls completed during an INVITE flood from another source (L5, short)",
             "%s of %s (flood: %s INVITEs)" % (l5[1], l5[2], l5[0]) if l5 else "n/a", ">= 99%",
             "the 60-minute L5 is a long tier, not run here"))
# fuzz.sh prints "fuzz: TARGET: N executions, R/s[, FAILED (...)]" per target.
names = {"flow": "flow loader and validator", "fillpoint": "fillpoint parser and renderer",
         "result_path": "result-path extractor", "sip_msg": "libre `sip_msg_decode`",
         "sdp": "libre `sdp_decode`", "rtp": "RTP and RFC 4733 decoder",
         "http_request": "admin API request parsing and lead validation"}
for target, runs, failed in re.findall(r"(?m)^fuzz: (\w+): (\S+) executions, [^,\n]*(, FAILED)?", fuzz):
    kept = sorted(os.listdir(os.path.join("fuzz", "regressions", target))) \
        if os.path.isdir(os.path.join("fuzz", "regressions", target)) else []
    rows.append(("Fuzzing %s s: %s" % (fuzz_seconds, names.get(target, target)),
                 "%s executions; %s" % ("{:,}".format(int(runs)) if runs.isdigit() else runs,
                                        "FAILED (a crash, kept in fuzz/regressions/)"
                                        if failed else "0 crashes"),
                 "0 crashes",
                 "%d earlier finding(s) kept as regression inputs, replayed by `make test`"
                 % len(kept) if kept else ""))

path = "docs/RELIABILITY.md"
doc = open(path, encoding="utf-8").read()
begin, end = "<!-- figures: begin -->", "<!-- figures: end -->"
i, j = doc.index(begin) + len(begin), doc.index(end)
slope = grab(soak, r"RSS slope after warm-up: ([+-][\d.]+) MiB/hour")
if slope:
    made = grab(soak, r"(\d+) calls asked for, (\d+) made \(records\), (\d+) completed")
    rss = grab(soak, r"RSS ([\d.]+) MiB at start, ([\d.]+) MiB after warm-up, ([\d.]+) MiB at the end")
    verdict = grab(soak, r"(?m)^soak: (PASS|FAIL)$")
    rows.append(("RSS slope over the soak (`make soak`: greeting, ApiRequest, read-back, hang-up)",
                 "%s MiB/hour after warm-up%s; %s calls completed" % (
                     slope[0], " (%s MiB at start, %s after warm-up, %s at the end)" % rss
                     if rss else "", made[2] if made else "n/a"),
                 "~0 after warm-up",
                 "from build/soak.log (%s)" % (verdict[0] if verdict else "unfinished")))
else:  # no soak run here: the previous row stays
    rows += [tuple(cell.strip() for cell in line.strip().strip("|").split(" | "))
             for line in doc[i:j].splitlines() if line.startswith("| RSS slope")]
table = ["| figure | result | target | note |", "|---|---|---|---|"]
table += ["| %s |" % " | ".join(r) for r in rows]
stamp = ("Generated by `make reliability-report` on %s at commit %s, on the 2-core development "
         "machine." % (datetime.date.today().isoformat(), commit))
doc = doc[:i] + "\n" + stamp + "\n\n" + "\n".join(table) + "\n" + doc[j:]
open(path, "w", encoding="utf-8").write(doc)
print("\n".join(table))
PY
