// Seeded data for the browser tests, through the REST API: a small study as
// CONTRACTS.md describes one (3 models × 2 environments × 2 repetitions, with
// per-epoch metrics, energy windows, power samples, environment), an MLflow
// run without energy, and a sweep of many small runs for paging.

export const MODELS = ['mobilenet_v2-x0.35', 'resnet18', 'small_cnn'];
export const ENVIRONMENTS = ['2-threads', '1-thread'];
export const REPETITIONS = 2;
export const EPOCHS = 3;
export const TRAIN_IMAGES = 60_000;
export const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);

const BASE = {
  'mobilenet_v2-x0.35': { epi: 0.02, f1: 0.88, watts: 40, params: 410_000 },
  resnet18: { epi: 0.06, f1: 0.91, watts: 55, params: 11_170_000 },
  small_cnn: { epi: 0.008, f1: 0.84, watts: 30, params: 52_000 },
};
const ENV = { '2-threads': { cost: 1.0, threads: 2 }, '1-thread': { cost: 1.3, threads: 1 } };

// The study's trials in run order, with every figure the tests check.
export function studyTrials() {
  const trials = [];
  for (let rep = 1; rep <= REPETITIONS; ++rep) {
    for (const model of MODELS) {
      for (const environment of ENVIRONMENTS) {
        const b = BASE[model], e = ENV[environment];
        const index = trials.length;
        const epi = b.epi * e.cost * (1 + 0.01 * rep);
        const f1 = b.f1 + 0.002 * rep - (environment === '1-thread' ? 0.001 : 0);
        const energy = epi * TRAIN_IMAGES * 1.15;
        trials.push({
          index,
          name: `${model} ${environment} #${rep}`,
          model,
          environment,
          rep,
          status: index === 10 ? 'RUNNING' : index === 11 ? 'FAILED' : 'FINISHED',
          estimated: model === 'small_cnn' && environment === '1-thread' && rep === 1,
          energyPerImage: epi,
          f1,
          accuracy: f1 + 0.01,
          energy,
          durationS: energy / b.watts,
          watts: b.watts,
          parameterCount: b.params,
          threads: e.threads,
        });
      }
    }
  }
  return trials;
}

function epochWindows(t, start) {
  const windows = [];
  const domains = (j, est) => [
    { name: 'package-0', energy_j: j * 0.8, estimated: est, counts_in_total: true },
    { name: 'dram', energy_j: j * 0.2, estimated: est, counts_in_total: true },
  ];
  const epochMs = (t.durationS * 1000) / EPOCHS;
  for (let e = 1; e <= EPOCHS; ++e) {
    const s = start + (e - 1) * epochMs;
    windows.push({ name: `epoch-${e}/train`, start_ms: Math.round(s), end_ms: Math.round(s + epochMs * 0.85), duration_s: (epochMs * 0.85) / 1000, domains: domains((t.energy / EPOCHS) * 0.87, t.estimated) });
    windows.push({ name: `epoch-${e}/eval`, start_ms: Math.round(s + epochMs * 0.85), end_ms: Math.round(s + epochMs), duration_s: (epochMs * 0.15) / 1000, domains: domains((t.energy / EPOCHS) * 0.13, t.estimated) });
  }
  windows.unshift({ name: 'run', start_ms: start, end_ms: Math.round(start + t.durationS * 1000), duration_s: t.durationS, domains: domains(t.energy, t.estimated) });
  return windows;
}

// Power every 100 ms: higher while training than while evaluating.
function powerSamples(t, start, untilMs = start + t.durationS * 1000) {
  const samples = [];
  const epochMs = (t.durationS * 1000) / EPOCHS;
  for (let ms = start; ms < untilMs; ms += 100) {
    const inEval = (ms - start) % epochMs > epochMs * 0.85;
    const w = t.watts * (inEval ? 0.6 : 1) * (1 + 0.05 * Math.sin(ms / 700));
    samples.push({ timestamp_ms: ms, power_w: [w * 0.8, w * 0.2] });
  }
  return samples;
}

function epochMetrics(t, start, epochs) {
  const metrics = [];
  const epochMs = (t.durationS * 1000) / EPOCHS;
  for (let e = 1; e <= epochs; ++e) {
    const ts = Math.round(start + e * epochMs);
    const progress = e / EPOCHS;
    const m = {
      accuracy: t.accuracy - 0.1 * (1 - progress),
      f1_macro: t.f1 - 0.1 * (1 - progress),
      train_loss: 1.2 / (e + 0.5),
      test_loss: 1.1 / (e + 0.6),
      train_energy_j: (t.energy / EPOCHS) * 0.87,
      eval_energy_j: (t.energy / EPOCHS) * 0.13,
      train_time_s: (epochMs * 0.85) / 1000,
      eval_time_s: (epochMs * 0.15) / 1000,
      train_energy_per_image_j: ((t.energy / EPOCHS) * 0.87) / TRAIN_IMAGES,
    };
    for (const [key, value] of Object.entries(m)) metrics.push({ key, value, step: e, timestamp: ts });
  }
  return metrics;
}

// Seeds the study; returns {experimentId, trials (with runId), baselineRunId}.
export async function seedStudy(api, name = 'green-cv') {
  const experimentId = await api.createExperiment(name);
  // The spec, as `wattlab study run` keeps it (study/study_state.cpp): in parts.
  const spec = `name: ${name}\nmodels: [${MODELS.join(', ')}]\nrepetitions: ${REPETITIONS}\n`;
  const specTags = { [`wattlab.study.${name}.spec_parts`]: '2', [`wattlab.study.${name}.spec.0`]: spec.slice(0, 20), [`wattlab.study.${name}.spec.1`]: spec.slice(20), [`wattlab.study.${name}.spec_hash`]: '0123456789abcdef' };
  for (const [key, value] of Object.entries(specTags)) await api.post('mlflow/experiments/set-experiment-tag', { experiment_id: experimentId, key, value });
  const studyTags = (t, role) => ({
    'wattlab.study': name,
    'wattlab.study.role': role,
    'wattlab.study.spec_hash': '0123456789abcdef',
    ...(t ? { 'wattlab.study.trial': String(t.index), 'wattlab.study.model': t.model, 'wattlab.study.environment': t.environment, 'wattlab.study.repetition': String(t.rep) } : {}),
  });
  const baselineRunId = await api.createRun(experimentId, 'idle baseline', T0 - 60_000, studyTags(null, 'idle-baseline'));
  await api.logBatch(baselineRunId, { metrics: [{ key: 'idle_power_w', value: 12.5, step: 0, timestamp: T0 - 30_000 }] });
  await api.finish(baselineRunId, 'FINISHED', T0 - 30_000);
  await api.uploadArtifact(experimentId, baselineRunId, 'report.html', '<!doctype html><title>green-cv report</title><h1>green-cv</h1>');

  const trials = studyTrials();
  let start = T0;
  for (const t of trials) {
    const running = t.status === 'RUNNING';
    const runId = await api.createRun(experimentId, t.name, start, {
      ...studyTags(t, 'trial'),
      'wattlab.energy_estimated': String(t.estimated),
      ...(running ? {} : { 'wattlab.stop_reason': t.status === 'FAILED' ? 'error' : 'max_epochs' }),
    });
    t.runId = runId;
    t.startMs = start;
    await api.logBatch(runId, {
      params: {
        model: t.model.split('-')[0],
        width_multiplier: t.model.includes('x0.35') ? 0.35 : 1,
        threads: t.threads,
        batch_size: 64,
        device: 'cpu',
        precision: 'fp32',
        image_size: '28x28',
        channels: 1,
        train_images: TRAIN_IMAGES,
        val_images: 0,
        test_images: 10_000,
        epochs: EPOCHS,
        optimizer: 'adam',
        learning_rate: 0.001,
        seed: 2022 + t.rep,
        num_classes: 10,
        meter: t.estimated ? 'estimate' : 'rapl',
        carbon_intensity_g_per_kwh: 480,
        carbon_source: 'world average',
      },
    });
    const epochs = running ? 1 : t.status === 'FAILED' ? 2 : EPOCHS;
    const metrics = epochMetrics(t, start, epochs);
    const end = Math.round(start + t.durationS * 1000);
    if (t.status === 'FINISHED') {
      for (const [key, value] of Object.entries({
        energy_j: t.energy,
        duration_s: t.durationS,
        energy_per_image_j: t.energyPerImage,
        co2e_g: (t.energy / 3.6e6) * 480,
        parameter_count: t.parameterCount,
      })) {
        metrics.push({ key, value, step: EPOCHS, timestamp: end });
      }
    }
    await api.logBatch(runId, { metrics });
    const windows = epochWindows(t, start);
    await api.energyWindows(runId, running ? windows.slice(1, 3) : t.status === 'FAILED' ? windows.slice(1, 5) : windows);
    await api.powerSamples(runId, ['package-0', 'dram'], powerSamples(t, start, running ? start + (t.durationS * 1000) / EPOCHS : t.status === 'FAILED' ? start + (t.durationS * 2000) / EPOCHS : end));
    await api.environment(runId, {
      cpu_model: 'AMD EPYC 7B13',
      cpu_count: '2',
      ram_gib: '24',
      hostname: 'lab-node-1',
      os: 'Debian GNU/Linux 12',
      git_commit: 'f399f5e',
      seed: String(2022 + t.rep),
      threads: String(t.threads),
      device: 'cpu',
      libtorch_version: '1.13.1',
      energy_domains: 'package-0,dram',
    });
    if (!running) await api.finish(runId, t.status, end);
    start = end + 5_000;
  }
  return { experimentId, trials, baselineRunId };
}

// An MLflow client's run: a loss curve and a param, no energy.
export async function seedPlainRun(api) {
  const runId = await api.createRun('0', 'mlflow-client-run', T0 - 3_600_000);
  const metrics = [];
  for (let s = 0; s < 50; ++s) metrics.push({ key: 'loss', value: 2 * Math.exp(-s / 15), step: s, timestamp: T0 - 3_600_000 + s * 1000 });
  await api.logBatch(runId, { metrics, params: { lr: 0.01 } });
  await api.finish(runId, 'FINISHED', T0 - 3_550_000);
  return runId;
}

// `count` runs in experiment `name`: energy_j = i + 1, accuracy = a fixed
// function of i, param lr; concurrently, several requests at a time.
export async function seedSweep(api, name, count, { metricsPerRun = 2, paramsPerRun = 1 } = {}) {
  const experimentId = await api.createExperiment(name);
  const one = async (i) => {
    const runId = await api.createRun(experimentId, `sweep-${String(i).padStart(5, '0')}`, T0 + i * 1000);
    const metrics = [
      { key: 'energy_j', value: i + 1, step: 0, timestamp: T0 + i * 1000 },
      { key: 'accuracy', value: 0.5 + ((i * 7919) % 1000) / 2000, step: 0, timestamp: T0 + i * 1000 },
    ];
    for (let k = 2; k < metricsPerRun; ++k) metrics.push({ key: `metric_${k}`, value: Math.sin(i + k), step: 0, timestamp: T0 + i * 1000 });
    const params = { lr: (0.001 * ((i % 10) + 1)).toFixed(3) };
    for (let k = 1; k < paramsPerRun; ++k) params[`param_${k}`] = `value-${(i + k) % 7}`;
    await api.logBatch(runId, { metrics, params, tags: { 'wattlab.energy_estimated': 'false' } });
    await api.finish(runId, 'FINISHED', T0 + i * 1000 + 500);
  };
  const parallel = 8;
  for (let i = 0; i < count; i += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, k) => one(i + k)));
  }
  return experimentId;
}

// The runs no other run beats on both (lower x, higher y), by brute force:
// the tests' own reference for the UI's Pareto front.
export function bruteForceFront(points) {
  return points
    .filter((p) => !points.some((q) => q !== p && q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y)))
    .sort((a, b) => a.x - b.x);
}
