@repo
Feature: Demo verdicts
  Scenarios whose steps end in each way a verdict can.

  @W1
  Scenario: A check that holds
    Given a demo check that holds
    Then the demo check passes

  @W2
  Scenario: A check that does not hold
    Given a demo check that does not hold
    Then the demo check passes

  @W3
  Scenario: A check that cannot be decided
    Given a demo check that cannot be decided
    Then the demo check passes

  @W4
  Scenario: A check that does not apply here
    Given a demo check that does not apply
    Then the demo check passes

  @W5 @W6
  Scenario: Two criteria, one holding part
    Given a demo check that holds
    Then the demo check passes

  @W6
  Scenario: Second part of W6 fails
    Given a demo check that does not hold
    Then the demo check passes

  @W7
  Scenario: A crash is a bug, reported as an error
    Given a demo check that crashes
    Then the demo check passes
