"""Issues, the PostgreSQL aggregate: every statement against its tables lives here.

Tables: error_groups, group_hashes, error_occurrences, group_users, group_releases,
releases, group_activity. Nothing outside this package writes SQL against them.

    batch       what a batch of events does: hashes, new groups, occurrences, counters
    lifecycle   status changes (resolve, ignore, regress, escalate), merges, activity
    reads       what people, notifications, the AI features and exports read
"""
