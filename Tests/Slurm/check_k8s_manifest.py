"""Validates Scripts/slurm/k8s-indexed-job.yaml with PyYAML: an Indexed Job whose completions,
parallelism and STEER_SHARD_COUNT agree, whose pods write one store per JOB_COMPLETION_INDEX on a
shared volume, and a merge Job that runs `steer store merge` and `steer store verify`."""
import sys

import yaml

path = sys.argv[1]
documents = [d for d in yaml.safe_load_all(open(path)) if d]
jobs = {d["metadata"]["name"]: d for d in documents if d.get("kind") == "Job"}
assert set(jobs) == {"steer-effects", "steer-effects-merge"}, f"{path}: Jobs are {sorted(jobs)}"
for d in documents:
    assert d["apiVersion"] == "batch/v1", f"{d['metadata']['name']}: apiVersion {d['apiVersion']}"


def env(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def check_volumes(name, pod):
    volumes = {v["name"] for v in pod.get("volumes", [])}
    for container in pod.get("initContainers", []) + pod["containers"]:
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes, f"{name}: mount {mount['name']} has no volume"
    for volume in pod.get("volumes", []):
        assert volume.get("persistentVolumeClaim", {}).get("claimName"), f"{name}: {volume['name']} is not a claim"
    assert pod["restartPolicy"] == "Never", f"{name}: restartPolicy must be Never for per-index retries"


measure = jobs["steer-effects"]["spec"]
assert measure["completionMode"] == "Indexed", "the measurement Job must be an Indexed Job"
count = measure["completions"]
assert isinstance(count, int) and count >= 1
assert 1 <= measure["parallelism"] <= count
pod = measure["template"]["spec"]
check_volumes("steer-effects", pod)
(container,) = pod["containers"]
assert env(container)["STEER_SHARD_COUNT"] == str(count), "STEER_SHARD_COUNT must equal completions"
script = " ".join(container["command"] + container["args"])
for needle in ["steer effects measure", "JOB_COMPLETION_INDEX", "--store", "--vectors", "/shared/"]:
    assert needle in script, f"the measure command lacks {needle!r}: {script}"

merge = jobs["steer-effects-merge"]["spec"]["template"]["spec"]
check_volumes("steer-effects-merge", merge)
(init,) = merge["initContainers"]
assert env(init)["STEER_SHARD_COUNT"] == str(count), "the merge waits for as many shards as completions"
script = " ".join(merge["containers"][0]["command"] + merge["containers"][0]["args"])
for needle in ["steer store merge", "steer store verify"]:
    assert needle in script, f"the merge command lacks {needle!r}"
print(f"{len(documents)} documents, Indexed Job of {count} shards and a merge Job")
