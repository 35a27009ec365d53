Feature: Docs and helper scripts
  The fix claims a build guide (DOCKER_BUILD.md) linked from the README, and three helper
  scripts: a local build, a devpod trigger for the GitHub Actions build, and a status check.
  Docs and scripts must name only paths that exist, so a renamed workflow can't leave them stale.

  Background:
    Given the target repository

  @repo @D1
  Scenario: The build docs cover the five topics
    Then the build docs cover the overlay error, GitHub Actions, devpod triggers, local builds and troubleshooting

  @repo @D2
  Scenario: The README links the build docs
    Then the README links the build docs

  @repo @D3
  Scenario: No dangling path in docs and scripts
    Then every path the docs and scripts name exists

  @repo @D3
  Scenario: The docs show only script options the scripts accept
    Then every helper-script option the docs show is one the script accepts

  @repo @S1
  Scenario: The helper scripts are sound
    Then the helper scripts exist, are executable, parse and pass shellcheck

  @repo @S2
  Scenario: The devpod scripts ask for an existing workflow
    Then the devpod trigger and status scripts name an existing workflow
