Feature: The kustomization points at images that exist
  Argo CD deploys the kustomization's newName:newTag. A newTag that was never pushed (for
  instance a bare short sha while the workflow pushes another format) leaves the cluster
  unable to pull.

  Background:
    Given the registry that holds the target's images

  @registry @K4
  Scenario: Every newTag exists in the registry
    Then every newTag of the kustomization exists in the registry for its image
