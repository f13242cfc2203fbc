package transfer

// Test helpers of this package's internal tests, for its external ones.
var TestOptions = testOptions
var RandBytes = randBytes
var ReadAll = readAll
var RequireCRC = requireCRC
var RequireGone = requireGone
var SmallMem = smallMem
var Retried = retried
