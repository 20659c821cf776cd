package docsui

// NewHandler is Handler over any file system laid out as the embedded one,
// for tests of files that cannot be read.
var NewHandler = newHandler
