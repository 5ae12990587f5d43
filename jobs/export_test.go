package jobs

// DecideAction exposes decideAction to the external tests.
var DecideAction = decideAction
