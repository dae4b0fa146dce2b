package guardrails

import _ "embed"

// Rego is the OPA/Rego (v1 syntax) policy for Terraform plan JSON, package
// pitrguard.dynamodb; see its header for usage.
//
//go:embed assets/pitrguard.rego
var Rego string

// RegoPackage is the package the Rego policy declares.
const RegoPackage = "pitrguard.dynamodb"
