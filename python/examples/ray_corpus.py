import ray

import restoregrad.ray

ray.init(ignore_reinit_error=True)  # a laptop; on a cluster: ray.init(address="auto")
summary = restoregrad.ray.enhance_corpus("corpus/", "enhanced/", workers=2)
print(summary)  # files, hours, files/s, x real time, failures
for failure in summary.failures:
    print(failure["input"], failure["error"])
summary.write_csv("enhanced-results.csv")  # one row per file: status, seconds, error
