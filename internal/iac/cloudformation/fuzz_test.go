package cloudformation

import (
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// FuzzScan: any input is either scanned or refused with an error — never a
// panic or a hang — and every fix it proposes can be applied to the input.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n",
		"Parameters:\n  P: {Default: 'false'}\nResources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      PointInTimeRecoverySpecification:\n        PointInTimeRecoveryEnabled: !Ref P\n",
		"Conditions:\n  C: !Equals [!Ref P, x]\n  D: !Condition C\nResources:\n  T:\n    Type: AWS::DynamoDB::GlobalTable\n    Condition: D\n    Properties:\n      Replicas:\n        - Region: a\n          PointInTimeRecoverySpecification: !If [C, {PointInTimeRecoveryEnabled: true}, !Ref AWS::NoValue]\n",
		`{"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "x"}}}}`,
		"Transform: AWS::LanguageExtensions\nMappings:\n  M:\n    a: {P: true}\nResources:\n  Fn::ForEach::L:\n    - N\n    - [a, b]\n    - \"T${N}\":\n        Type: AWS::DynamoDB::Table\n        Properties:\n          TableName: !Sub \"${N}-${AWS::Region}\"\n          PointInTimeRecoverySpecification:\n            PointInTimeRecoveryEnabled: !FindInMap [M, !Ref N, P, {DefaultValue: !Select [0, !Split [\",\", \"x,y\"]]}]\n",
		"Conditions:\n  A: !Condition B\n  B: !Condition A\nResources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Condition: A\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fs, _ := Scan("t.yaml", []byte(src), nil, iac.Options{MinRecoveryDays: 7}, time.Unix(0, 0))
		for _, x := range fs {
			if x.Fix != nil && x.Fix.Edit != nil {
				_, _ = x.Fix.Edit([]byte(src))
			}
		}
	})
}
