#!/bin/sh
# Run a step of `make run` / `make test` and say how long it took: timed.sh "名称" command args…
name=$1
shift
start=$(date +%s)
"$@"
status=$?
echo "【$name】用时 $(( $(date +%s) - start )) 秒"
exit $status
