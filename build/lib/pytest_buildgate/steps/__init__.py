"""Step definitions: each turns a Gherkin line into one library call and a checked assertion."""
