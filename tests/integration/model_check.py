#!/usr/bin/env python3
"""model_check.py - run the scenarios of tests/fixtures/scenarios through
`scorekeeper score` and check the expectations written next to them.

Used by test_model_scenarios.sh (which owns the command line); it needs
nothing but python3, so a fresh machine without jq can run it.

A scenario is NAME.jsonl (the events, exactly what a user would feed the
scorer) and NAME.expect, read line by line:

    # comment                      ignored
    @rules-replace OLD => NEW      run this scenario with a copy of the rules
                                   where the text OLD (found exactly once)
                                   is replaced by NEW
    @now 2026-03-31T00:00:00Z      start a section: score the file at that
    @now latest                    moment (or without --now), with and
                                   without --alerts
    @known NOTE                    the next check is a product behaviour the
                                   lead must decide on: skip it, say NOTE
    EXPR OP EXPECTED               a check, see below

EXPR and EXPECTED are Python expressions over:

    S        the score objects by account: S['acme'].engagement.score
    A        the alerts, in printed order (a list)
    rc, err  exit status and stderr of the score run; arc, aerr of the
             alerts run
    al(kind=, account=, flag=, ts=, event_id=)   alerts matching all given
    flag(account, id)   the account's flag object, or None
    flags(account)      the account's flag ids, in printed order
    ms(iso)             an ISO time as ms since the epoch

and OP is one of == != ~= (equal within 0.051: output is rounded to 0.1
for display) < <= > >= in contains (a string or a list) matches (a
regular expression, searched).  A failed check prints the scenario, the
line, what was expected and what was got.  The last line printed is
"COUNTS passed failed skipped".
"""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile


class Obj(dict):
    """A JSON object whose keys also read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no key '{name}' in {json.dumps(self)[:200]}")


def hook(pairs):
    return Obj(pairs)


FLAGS = ["missed_meetings", "unanswered_outreach", "qbr_declined", "usage_drop",
         "exec_silent", "no_login_30d", "payment_failures", "cancellation_intent",
         "detractor", "single_threaded", "slow_response", "tactical_only"]
HEALTH = ["at_risk", "watch", "growth", "healthy"]
TIERS = ["green", "yellow", "orange", "red"]
SEGMENTS = ["upsell_candidate", "loyal", "risk", "at_risk", "steady"]
ALERT_KEYS = {"id", "kind", "account", "from", "to", "severity", "ts", "ts_ms",
              "event_id", "reason", "points", "stage", "engagement", "eng_tier",
              "customer", "segment", "health", "play", "sla_hours", "rules_version"}
KIND_VALUES = {"stage_crossed": None, "health_changed": HEALTH,
               "engagement_tier_changed": TIERS, "segment_changed": SEGMENTS,
               "flag_raised": ["clear"], "flag_cleared": ["raised"]}


def alert_problems(a):
    """What is wrong with one alert against schemas/alert.schema.json and
    MODEL.md (one alert per change), or an empty list."""
    bad = []
    keys = set(a)
    flagged = a.get("kind") in ("flag_raised", "flag_cleared")
    missing = ALERT_KEYS - keys
    extra = keys - ALERT_KEYS - ({"flag"} if flagged else set())
    if missing:
        bad.append(f"missing {sorted(missing)}")
    if extra:
        bad.append(f"unexpected {sorted(extra)}")
    if missing:
        return bad
    if not re.fullmatch(r"[0-9a-f]{16}", str(a["id"])):
        bad.append("id is not 16 hex digits")
    if a["kind"] not in KIND_VALUES:
        return bad + [f"unknown kind {a['kind']}"]
    if flagged and a.get("flag") not in FLAGS:
        bad.append("flag missing or unknown")
    if a["kind"] == "stage_crossed":
        if not all(type(a[k]) is int for k in ("from", "to")):
            bad.append("stage from/to are not numbers")
        elif a["severity"] != ("info" if a["to"] > a["from"] else "yellow"):
            bad.append("stage severity: info up, yellow down")
    else:
        allowed = KIND_VALUES[a["kind"]]
        if a["kind"] == "flag_raised":
            ok = a["from"] == "clear" and a["to"] == "raised"
        elif a["kind"] == "flag_cleared":
            ok = a["from"] == "raised" and a["to"] == "clear" and a["severity"] == "info"
        else:
            ok = a["from"] in allowed and a["to"] in allowed
        if not ok:
            bad.append("from/to out of their forms")
    if a["from"] == a["to"]:
        bad.append("from == to: an alert without a change")
    if a["ts_ms"] != ms(a["ts"][:19] + "Z") + (a["ts_ms"] % 1000):
        bad.append("ts and ts_ms disagree")
    if a["event_id"] is None and a["ts_ms"] % 86400000 != 0:
        bad.append("an alert without event id is not at a midnight")
    if a["health"] not in HEALTH or a["eng_tier"] not in TIERS or a["segment"] not in SEGMENTS:
        bad.append("health/eng_tier/segment out of their enums")
    if not (0 <= a["engagement"] <= 100 and 0 <= a["customer"] <= 100):
        bad.append("engagement or customer out of 0..100")
    if not isinstance(a["reason"], str) or not a["reason"] or "\n" in a["reason"]:
        bad.append("reason is not one line")
    return bad


SCORE_KEYS = {"account", "points", "stage", "engagement", "customer", "health", "flags"}


def score_problems(s):
    """What is wrong with one score object against the command's contract."""
    bad = []
    if set(s) != SCORE_KEYS:
        bad.append(f"keys {sorted(s)}")
        return bad
    if set(s["engagement"]) != {"score", "tier", "frequency", "quality", "breadth", "product", "velocity"}:
        bad.append(f"engagement keys {sorted(s['engagement'])}")
    if set(s["customer"]) != {"score", "upsell", "segment"}:
        bad.append(f"customer keys {sorted(s['customer'])}")
    if set(s["health"]) != {"tier", "play", "sla_hours"}:
        bad.append(f"health keys {sorted(s['health'])}")
    for f in s["flags"]:
        if set(f) != {"id", "severity", "since", "reason"} or f["id"] not in FLAGS:
            bad.append(f"flag {f}")
    if type(s["points"]) is not int or type(s["stage"]) is not int:
        bad.append("points/stage are not integers")
    return bad


def parse_lines(text, what):
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line, object_pairs_hook=hook))
        except ValueError as exc:
            raise RuntimeError(f"{what}: line {n} is not JSON ({exc}): {line[:200]}")
    return out


def ms(iso):
    dt = datetime.datetime.strptime(iso.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
    return int(dt.timestamp()) * 1000


OPS = ["not contains", "contains", "matches", "==", "!=", "~=", "<=", ">=", "<", ">", "not in", "in"]
OP_RE = re.compile(r"\s(" + "|".join(re.escape(o) for o in OPS) + r")\s")


def split_check(text):
    """The first operator outside brackets and string literals."""
    depth, quote, top = 0, None, []
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        top.append(depth == 0 and quote is None)
    for m in OP_RE.finditer(text):
        if all(top[m.start():m.end()]):
            return text[:m.start()], m.group(1), text[m.end():]
    return None


def compare(op, got, exp):
    if op == "==":
        return got == exp
    if op == "!=":
        return got != exp
    if op == "~=":
        return isinstance(got, (int, float)) and not isinstance(got, bool) and abs(got - exp) <= 0.051
    if op == "<":
        return got < exp
    if op == "<=":
        return got <= exp
    if op == ">":
        return got > exp
    if op == ">=":
        return got >= exp
    if op == "in":
        return got in exp
    if op == "not in":
        return got not in exp
    if op == "contains":
        return exp in got
    if op == "not contains":
        return exp not in got
    if op == "matches":
        return re.search(exp, got) is not None
    raise ValueError(op)


class Runner:
    def __init__(self, scorer, rules, folder):
        self.scorer = scorer
        self.rules = rules
        self.folder = folder
        self.passed = self.failed = self.skipped = 0
        self.tmp = tempfile.mkdtemp(prefix="sk-model-")

    def run(self, args):
        proc = subprocess.run([self.scorer] + args, capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr

    def section(self, name, events, rules, now):
        args = ["score", "--rules", rules]
        if now != "latest":
            args += ["--now", now]
        rc, out, err = self.run(args + [events])
        arc, aout, aerr = self.run(args + ["--alerts", events])
        scores = {}
        for obj in parse_lines(out, f"{name} @now {now}: score output"):
            scores[obj["account"]] = obj
        alerts = parse_lines(aout, f"{name} @now {now}: alerts output")
        where = f"{name} (@now {now}, every alert and score object)"
        # every alert has the schema's form; the same input, the same alerts
        problems = [f"{a.get('id')}: {p}" for a in alerts for p in alert_problems(a)]
        problems += [f"{s.get('account')}: {p}" for s in scores.values() for p in score_problems(s)]
        self.record(where, "the forms of the alert schema and the contract", problems[:5])
        again = self.run(args + ["--alerts", events])
        self.record(where, "a second run prints the same alerts, ids included",
                    [] if again == (arc, aout, aerr) else ["the second run differs"])
        self.record(where, "accounts sorted by id",
                    [] if list(scores) == sorted(scores) else [" ".join(scores)])

        def al(**want):
            return [a for a in alerts if all(a.get(k) == v for k, v in want.items())]

        def flag(account, fid):
            for f in scores[account]["flags"]:
                if f["id"] == fid:
                    return f
            return None

        def flags(account):
            return [f["id"] for f in scores[account]["flags"]]

        return {"S": scores, "A": alerts, "rc": rc, "err": err, "arc": arc,
                "aerr": aerr, "al": al, "flag": flag, "flags": flags, "ms": ms,
                "None": None, "len": len, "sorted": sorted, "set": set, "type": type,
                "int": int, "str": str, "list": list, "all": all, "any": any, "round": round}

    def check(self, where, text, env):
        parts = split_check(text)
        if parts is None:
            self.fail(where, text, "a check needs an operator", "")
            return
        lhs, op, rhs = parts
        try:
            exp = eval(rhs, dict(env, __builtins__={}))
        except Exception as exc:  # a broken expectation is a failure too
            self.fail(where, text, f"<cannot evaluate expected: {exc}>", "")
            return
        try:
            got = eval(lhs, dict(env, __builtins__={}))
        except Exception as exc:
            self.fail(where, text, f"{op} {exp!r}", f"<error: {type(exc).__name__}: {exc}>")
            return
        try:
            ok = compare(op, got, exp)
        except Exception as exc:
            ok = False
            got = f"{got!r} (cannot compare: {exc})"
        if ok:
            self.passed += 1
        else:
            self.fail(where, text, f"{op} {exp!r}", got if isinstance(got, str) else repr(got))

    def record(self, where, what, problems):
        if problems:
            self.fail(where, what, "no problem", "; ".join(problems))
        else:
            self.passed += 1

    def fail(self, where, text, expected, got):
        self.failed += 1
        print(f"FAIL {where}: {text}\n     expected: {expected}\n     got:      {got}")

    def scenario(self, name):
        events = os.path.join(self.folder, name + ".jsonl")
        with open(os.path.join(self.folder, name + ".expect"), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        rules = self.rules
        env = None
        now = None
        known = None
        for n, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{name}.expect:{n} (@now {now})"
            if line.startswith("@rules-replace "):
                old, new = line[len("@rules-replace "):].split(" => ", 1)
                with open(rules, encoding="utf-8") as fh:  # replacements add up
                    text = fh.read()
                if text.count(old) != 1:
                    raise RuntimeError(f"{name}.expect:{n}: '{old}' is not in the rules exactly once")
                rules = os.path.join(self.tmp, name + ".rules.yaml")
                with open(rules, "w", encoding="utf-8") as fh:
                    fh.write(text.replace(old, new))
            elif line.startswith("@now "):
                now = line.split(None, 1)[1]
                env = self.section(name, events, rules, now)
            elif line.startswith("@known "):
                known = line[len("@known "):]
            elif env is None:
                raise RuntimeError(f"{name}.expect:{n}: a check before any @now")
            elif known is not None:
                self.skipped += 1
                print(f"SKIP {where}: {line}\n     known: {known}")
                known = None
            else:
                self.check(where, line, env)


def main():
    if len(sys.argv) < 5:
        sys.stderr.write("usage: model_check.py SCORER RULES FOLDER NAME...\n")
        return 2
    runner = Runner(sys.argv[1], sys.argv[2], sys.argv[3])
    for name in sys.argv[4:]:
        before = runner.failed
        try:
            runner.scenario(name)
        except Exception as exc:
            runner.fail(name, "scenario could not run", "", f"{type(exc).__name__}: {exc}")
        print(f"scenario {name}: {'ok' if runner.failed == before else 'FAILED'}")
    print(f"COUNTS {runner.passed} {runner.failed} {runner.skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
