GREETING = "café"
