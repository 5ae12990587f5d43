// Package payrecon is the domain of the reconciliation: money in fen and
// bill days, accounts and the small interfaces a provider implements
// (provider.go), callbacks (callback.go), the ledger and its sources
// (ledger.go, ledgersource.go), bills (bill.go), runs and their result
// classes (run.go), repair actions (action.go), review state (review.go)
// and the one validation of everything a provider hands over
// (validate.go). It imports none of payrecon's other packages.
package payrecon
