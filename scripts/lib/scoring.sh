# Shared by scripts/evaluate.sh and scripts/validate.sh (sourced): the scoring packages and the
# scoring of one folder of enhanced files. Why one place: both scripts must score identically for
# validation to choose what the test tables then report.

# Installs the reference metrics (pesq, pystoi) and DNSMOS (speechmos) packages when missing.
scoring_packages() {
  python3 -c "import pesq, pystoi, soundfile, scipy" 2>/dev/null || pip install -q pesq pystoi numpy soundfile scipy
  python3 -c "import speechmos, onnxruntime, librosa, requests" 2>/dev/null || pip install -q speechmos onnxruntime librosa requests
  python3 -c "import speechmos.dnsmos" || {
    echo "DNSMOS needs the PyPI packages speechmos, onnxruntime, librosa and requests (the models ship in speechmos's wheel, no download at run time); pip install failed" >&2
    return 1
  }
}

# score_intrusive CLEAN_DIR DIR: PESQ-WB, STOI, ESTOI and SI-SDR of DIR's files against CLEAN_DIR's, to DIR.json.
score_intrusive() {
  python3 scripts/reference_metrics.py --clean "$1" --degraded "$2" --variants noisy > "$2.json"
}

# score_dnsmos DIR: DNSMOS SIG/BAK/OVRL of DIR's files (no reference needed), to DIR.dnsmos.json.
score_dnsmos() {
  python3 scripts/dnsmos.py "$1" --json "$1.dnsmos.json" >/dev/null
}
