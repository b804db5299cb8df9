#!/usr/bin/env python3
"""fault_events.py - the event streams of the fault tests.

    fault_events.py EVENTS ACCOUNTS SEED END_ISO8601 [DAYS [PREFIX]]

Prints EVENTS JSON-lines events (schema v1) over ACCOUNTS accounts
("ft-0000", ... or PREFIX-0000, ...), in time order over the DAYS days
(default 20) ending at
END, in whole seconds, every id unique ("f<seed>-<n>").  Accounts are drawn uniformly, so
each sees about EVENTS / ACCOUNTS events: well under the rules' 256
remembered ids, which the duplicate test relies on.  The mix of types
follows the benchmark's workload (logins and usage first, then product,
meetings, outreach, support, billing and surveys), with enough variety
that points stages, tiers, segments and flags all move and alert.  The
same arguments always print the same events.
"""
import json
import random
import sys
from datetime import datetime, timezone

MIX = [
    ("login", 300), ("usage", 270), ("feature_used", 80), ("page_view", 50),
    ("email_exchange", 50), ("meeting_attended", 35), ("support_ticket", 25),
    ("csm_outreach", 30), ("customer_response", 15), ("payment_succeeded", 15),
    ("api_call", 10), ("plan_usage", 12), ("support_resolved", 10), ("nps", 10),
    ("training", 7), ("payment_failed", 8), ("meeting_missed", 8),
    ("meeting_canceled", 5), ("meeting_rescheduled", 3), ("feedback", 5),
    ("seat_request", 2), ("user_created", 6), ("qbr_declined", 2),
    ("referral", 1), ("renewal", 2),
]
FEATURES = ["dashboards", "reports", "integrations", "alerts", "api",
            "automation", "sso", "export", "comments", "mobile_app"]
PAGES = ["home", "pricing", "advanced_feature", "enterprise_feature", "docs",
         "cancellation"]
FEEDBACK = ["very_happy", "happy", "neutral", "not_happy"]
DEPTS = ["sales", "ops", "finance", "it", "hr"]
ROLES = ["executive", "champion", "power_user", "end_user"]
ATTRS = ["on_time", "active", "executive", "follow_through", "strategic"]


def main():
    if len(sys.argv) not in (5, 6, 7):
        sys.stderr.write(__doc__)
        return 2
    n, accounts, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    end = datetime.strptime(sys.argv[4], "%Y-%m-%dT%H:%M:%SZ")
    end_ms = int(end.replace(tzinfo=timezone.utc).timestamp()) * 1000
    days = int(sys.argv[5]) if len(sys.argv) >= 6 else 20
    prefix = sys.argv[6] if len(sys.argv) == 7 else "ft"
    span = days * 86400000
    rng = random.Random(seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    out = sys.stdout
    for i in range(n):
        acct = "%s-%04d" % (prefix, rng.randrange(accounts))
        typ = rng.choices(types, weights)[0]
        ev = {"v": 1, "id": "f%d-%d" % (seed, i), "account": acct,
              "type": typ,
              "ts": (end_ms - span + (span * i) // n) // 1000 * 1000}
        person = rng.randrange(5)
        ev["user"] = "u%d@%s.example" % (person, acct)
        if rng.random() < 0.7:
            ev["role"] = ROLES[(person + rng.randrange(2)) % 4]
        ev["dept"] = DEPTS[(person + len(acct)) % 5]
        if typ == "usage":
            ev["value"] = rng.randrange(150)
        elif typ == "plan_usage":
            ev["value"] = rng.randrange(110)
        elif typ == "nps":
            ev["value"] = rng.randrange(11)
        elif typ == "customer_response" and rng.random() < 0.8:
            ev["value"] = rng.randrange(96)
        elif typ == "feature_used":
            ev["label"] = rng.choice(FEATURES)
        elif typ == "page_view":
            ev["label"] = rng.choice(PAGES)
        elif typ == "feedback":
            ev["label"] = rng.choice(FEEDBACK)
        elif typ == "support_resolved" and rng.random() < 0.8:
            ev["label"] = "satisfied" if rng.random() < 0.75 else "unsatisfied"
        elif typ == "meeting_attended":
            attrs = {a: True for a in ATTRS if rng.random() < 0.5}
            if attrs:
                ev["attrs"] = attrs
        out.write(json.dumps(ev, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
