// Package e2e holds the cross-layer end-to-end tests: the run engine and
// the repair actions (jobs) against the real provider clients talking to
// their loopback sandboxes, on real SQLite and MySQL stores, each day
// checked against a generated ground truth (jobs/jobstest).
//
//   - huawei, wechat, alipay, douyin, closed (QQ Wallet), mincloud: a
//     planted day per provider through its real client and signatures;
//   - hostile_bill: tampered and malformed bills refused with file, line
//     and field, nothing stored;
//   - actions_*: repairs applied through the real clients, outcomes
//     followed by sync;
//   - table: the ledger read from the merchant's own order table.
//
// It has no code of its own; `go test ./e2e/` runs it.
package e2e
