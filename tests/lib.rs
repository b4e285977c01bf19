//! Integration tests: real git in temporary directories against the built binary.
