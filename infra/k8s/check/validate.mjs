// Checks Argo Rollouts resources against the schemas of the Rollout CRD, offline.
// Reads a JSON array of Kubernetes documents on stdin; prints one line per problem and
// exits 1 if any. Core kinds are checked by tests/infra/test_k8s.py (kubernetes-validate).
import { readFileSync } from "node:fs";
import { Rollout } from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout";
import { AnalysisTemplate } from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate";

const models = { Rollout, AnalysisTemplate };
const documents = JSON.parse(readFileSync(0, "utf8"));
let problems = 0;
for (const document of documents) {
  const Model = models[document.kind];
  if (!Model) {
    console.log(`${document.kind}/${document.metadata?.name}: no Argo Rollouts schema for this kind`);
    problems += 1;
    continue;
  }
  try {
    new Model(document).validate();
    console.log(`${document.kind}/${document.metadata.name}: valid`);
  } catch (error) {
    console.log(`${document.kind}/${document.metadata?.name}: ${error.message}`);
    problems += 1;
  }
}
process.exit(problems ? 1 : 0);
