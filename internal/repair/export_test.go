package repair

// KeepReport is keepReport.
var KeepReport = keepReport
