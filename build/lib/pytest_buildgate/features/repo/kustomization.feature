Feature: Kustomization, its history, and what deploys it
  The workflow's last job writes the new image tags into the kustomization, which Argo CD
  deploys. The override must really apply to the manifests, each tag must be a commit of the
  repository, the history must show the bot doing this since the job exists, and whatever
  deploys the kustomization must apply its tags rather than force its own.

  Background:
    Given the target repository

  @repo @K1
  Scenario: The kustomization overrides both images and the manifests use them
    Then the kustomization overrides every built image and the rendered manifests use it

  @repo @K2
  Scenario: Each newTag names a commit at or before HEAD
    Then every newTag names a commit of the repository's history

  @repo @K3
  Scenario: The bot writes the tags after the update job exists
    Then the history shows the automated tag-update commits

  @repo @K7
  Scenario: What deploys the kustomization applies its tags
    Then every GitOps object deploying the kustomization's folder applies its tags, from the default branch
