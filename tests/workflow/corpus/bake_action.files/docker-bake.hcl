// what the workflow bakes
variable "REGISTRY" {
  default = "ghcr.io/acme"
}

target "docker-metadata-action" {}

group "all" {
  targets = ["api", "web"]
}

target "_common" {
  attest = ["type=sbom", "type=provenance,mode=max"]
}

target "api" {
  inherits = ["_common", "docker-metadata-action"]
  context = "./api"
  cache-from = ["type=gha,scope=api"]
  cache-to = ["type=gha,scope=api,mode=max"]
}

target "web" {
  inherits = ["_common"]
  context = "./web"
  tags = ["${REGISTRY}/web:latest", "${REGISTRY}/web:main"]
  cache-from = ["type=gha,scope=web"]
  cache-to = ["type=gha,scope=web,mode=max"]
}
