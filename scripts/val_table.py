#!/usr/bin/env python3
# The validation tables of docs/training/context_estoi.md and real_pairs.md from the
# `restoregrad eval --out` CSVs in docs/training/val_s4/ (40 held-out mixtures + the 6 held-out p287
# pairs, 1 sampling step) or val_s5/ (the same mixtures + p287_004-006, the pairs that the
# --train-pairs 3 runs leave out).
# Usage: python3 scripts/val_table.py [--dir docs/training/val_s5] RUN...
import csv, json, sys, pathlib
args = sys.argv[1:]
d = pathlib.Path('docs/training/val_s4')
if args[:1] == ['--dir']:
    d, args = pathlib.Path(args[1]), args[2:]
order = args
vb = 'p287' if d.name == 'val_s4' else 'p287_004-006'
base = 'e1' if d.name == 'val_s4' else order[0]
print(f"| run | started from | change | steps | mix SI-SDR | mix ESTOI | mix PESQ | {vb} SI-SDR | {vb} ESTOI | {vb} PESQ |")
print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
meta = {
 'h_std_mag4': ('h_standard', 'previous shipped model (μ = 4; its EMA at step 2,500)', 3000),
 'u3': ('h_std_mag4', 'under-weight a = 3', 3000),
 'e1': ('h_std_mag4', 'ESTOI loss ν = 1', 3000),
 'yc3': ('h_std_mag4', 'y context 3 frames (added at zero)', 3000),
 'yc3_e2': ('yc3', 'ESTOI loss ν = 2', 3000),
 'yc3_e4': ('yc3', 'ESTOI loss ν = 4', 3000),
 'yc3_e2_e4': ('yc3_e2', 'ESTOI loss ν = 4', 4000),
 'yc3_e4_e8': ('yc3_e4', 'ESTOI loss ν = 8', 3000),
 'yc3_e2_e4_e8': ('yc3_e2_e4', 'ESTOI loss ν = 8, lr 2e-4', 3000),
 'yc3_e2_e4_o2': ('yc3_e2_e4', 'ν = 4, under-weight a = 0.5, lr 2e-4', 3000),
 'yc3_e2_e4_o4': ('yc3_e2_e4_o2', 'ν = 4, under-weight a = 0.25, lr 2e-4', 2000),
 'yc3_e2_e4_o2b': ('yc3_e2_e4_o2', 'ν = 4, under-weight a = 0.5, lr 2e-4 (control)', 2000),
 'scratch_yc3_e4': ('(new)', 'the final recipe from step 0: y context 3, μ = 4, ν = 4, a = 0.5, lr 1e-3', 9000),
 'shipped_s4': ('', 'the session-4 shipped model (yc3_e2_e4_o2 at step 1,500)', 1500),
 'lp3_f0': ('yc3_e2_e4_o2', 'control: pairs 1-3 out of validation, not trained on', 2000),
 'lp3_f15': ('yc3_e2_e4_o2', 'pairs 1-3 trained on, 15% of examples', 2000),
 'lp3_f30': ('yc3_e2_e4_o2', 'pairs 1-3 trained on, 30%', 3000),
 'lp3_f30_r50': ('yc3_e2_e4_o2', 'pairs 1-3, 30%, half of them remixed', 3000),
 'lp3_f30_r50_e8': ('yc3_e2_e4_o2', 'pairs 1-3, 30%, half remixed, ESTOI loss ν = 8', 3000),
 'lp3_f30_r100': ('yc3_e2_e4_o2', 'pairs 1-3, 30%, all remixed (stopped at step 1,200 of 3,000; its EMA at 1,000; r = 0.5 had 10.14 / 0.669 there)', 1000),
 'lp3_f30_r50_lv': ('yc3_e2_e4_o2', 'pairs 1-3, 30%, half remixed, the crops at random levels (--pair-level)', 3000),
 'lp3_f30_r50_c': ('lp3_f30_r50', 'continued at lr 1e-4, seed 43', 3000),
 'lp3_f30_r50_x50': ('yc3_e2_e4_o2', 'pairs 1-3, 30%, half remixed, half of those across pairs (--pair-cross 0.5)', 3000),
 'lp3_f30_r50_x100': ('yc3_e2_e4_o2', 'pairs 1-3, 30%, half remixed, all remixes across pairs', 3000),
 'lp3_f30_r75_x67': ('yc3_e2_e4_o2', 'pairs 1-3, 30%, 3/4 remixed, 2/3 of those across pairs', 3000),
 'lp3_f50_r50': ('yc3_e2_e4_o2', 'pairs 1-3, 50%, half of them remixed', 3000),
}
for name in ['noisy', 'rnnoise']:
    rows = {r['set']: r for r in csv.DictReader(open(d / f'{base}.csv')) if r['system'] == name}
    m, v = rows['mix'], rows['vb']
    print(f"| {name} | | | | {float(m['si_sdr']):.2f} | {float(m['estoi']):.3f} | {float(m['pesq_wb']):.3f} | {float(v['si_sdr']):.2f} | {float(v['estoi']):.3f} | {float(v['pesq_wb']):.3f} |")
for run in order:
    rows = {r['set']: r for r in csv.DictReader(open(d / f'{run}.csv')) if r['system'] == 'restoregrad' and r['steps'] == '1'}
    m, v = rows['mix'], rows['vb']
    src, what, steps = meta[run]
    best = json.load(open(f'docs/training/{run}_state.json'))['best_step'] if pathlib.Path(f'docs/training/{run}_state.json').exists() else None
    steps = f"{best} of {steps}" if best and best != steps else steps
    print(f"| {run} | {src} | {what} | {steps} | {float(m['si_sdr']):.2f} | {float(m['estoi']):.3f} | {float(m['pesq_wb']):.3f} | {float(v['si_sdr']):.2f} | {float(v['estoi']):.3f} | {float(v['pesq_wb']):.3f} |")
