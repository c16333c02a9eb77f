/* The ECG chain of ws_dsp_ecg.h: resampler, filters, gain normalisation, QRS
 * detector and signal-quality flags. All state lives in struct ws_ecg; every input
 * sample runs through the same per-sample code, which is what makes the output
 * independent of how the input is split into blocks. */
#include "ws_dsp_ecg.h"

#include <string.h>

#include "ws_protocol.h"

#define RATE WS_ECG_RATE_HZ
#define K_TAPS WS_ECG_TAPS_PER_PHASE
#define MS(x) (((x) * RATE + 500) / 1000) /* milliseconds -> output samples */

/* Detector constants (Pan & Tompkins 1985, Hamilton & Tompkins 1986). */
#define MWI_LEN MS(150)          /* moving-window integrator */
#define REFRACTORY MS(200)       /* no second beat this soon */
#define TWAVE_LIMIT MS(360)      /* a beat this soon must be as steep as the last one */
#define LEARN_LEN (2 * RATE)     /* thresholds are learnt from the first 2 s */
#define LEARN_PEAKS 16
#define HIST_LEN 128             /* history of filtered signals, power of two */
#define R_SEARCH_FROM MS(180)    /* R peak searched this far before the integrator peak */
#define R_SEARCH_TO MS(20)       /* ... up to this far before it */
#define RR_KEEP 8
#define RETRO_GAP 1.5f           /* a gap of this many mean RR before a beat is searched */
#define AMP_KEEP 8
#define PEAK_HOLD MS(240)        /* a maximum held this long is a peak even without a fall */

#define MAGIC 0x45434731u /* "ECG1" */

/* Biquad coefficients at 250 Hz, from scipy.signal.butter(..., fs=250, output="sos"):
 * {b0, b1, b2, a1, a2}. tests/test_ecg_chain.py recomputes them and compares. */
static const float HP_SOS[1][5] = {
    /* butter(2, 0.5, "highpass"): baseline wander */
    {9.911535951e-01f, -1.982307190e+00f, 9.911535951e-01f, -1.982228930e+00f,
     9.823854506e-01f},
};
static const float LP_SOS[2][5] = {
    /* butter(4, 40, "lowpass"): muscle noise, mains */
    {2.287020772e-02f, 4.574041543e-02f, 2.287020772e-02f, -6.020332023e-01f,
     1.235593440e-01f},
    {1.000000000e+00f, 2.000000000e+00f, 1.000000000e+00f, -8.099502989e-01f,
     5.115897647e-01f},
};
static const float DET_SOS[2][5] = {
    /* butter(2, [8, 16], "bandpass"): QRS energy band for detection, above most P and T
     * wave energy (Hamilton & Tompkins; 8-16 Hz beat 5-15 Hz on the train+validation
     * records) */
    {8.826086668e-03f, 1.765217334e-02f, 8.826086668e-03f, -1.715299082e+00f, 8.379155594e-01f},
    {1.000000000e+00f, -2.000000000e+00f, 1.000000000e+00f, -1.852146677e+00f, 8.980811648e-01f},
};

/* Signal-quality thresholds (docs/ecg-front-end.md; chosen on the CinC train split). */
#define FLAT_P2P_MV 0.05f       /* below: flat line */
#define NOISE_P2P_MV 4.0f       /* above: motion artefact (few ECGs swing this much) */
#define NOISE_HF_RATIO 0.30f    /* mean |2nd difference| / mean |y| above: broadband noise */
#define NOISE_KURTOSIS 3.0f     /* below: no sharp QRS complexes (a Gaussian has 3) */
#define ODD_LOW 0.4f            /* a beat outside [ODD_LOW, ODD_HIGH] x the median R */
#define ODD_HIGH 2.5f           /* amplitude of the last 8 beats is odd ... */
#define NOISE_ODD_BEATS 1       /* ... and this many odd beats in a window is noise */
#define RAIL_FRACTION_SAT 100   /* >= 1/100 of samples at a rail: saturated */
#define RAIL_FRACTION_OFF 2     /* >= 1/2 of samples at a rail: leads off */

typedef struct {
    float s1, s2;
} biquad_state_t;

typedef struct {
    uint32_t index;  /* refined R index (output stream) */
    uint32_t mwi_at; /* integrator peak index */
    float value;     /* integrator peak */
    float slope;     /* steepest |derivative| of the complex */
    float amp;       /* filtered signal at R, mV */
    uint8_t valid;
} peak_t;

struct ws_ecg {
    uint32_t magic;
    ws_ecg_config_t cfg;
    float inv_gain;
    uint8_t started;
    uint8_t leads_off_hw;

    /* resampler: L phases of K taps; output k reads input floor(kM/L) - i */
    uint16_t up, down;  /* L, M */
    uint8_t bypass;
    float coef[WS_ECG_MAX_PHASES][K_TAPS];
    float xhist[K_TAPS];
    uint32_t xhist_pos;
    uint32_t in_count;
    uint32_t next_in;   /* input index the next output needs */
    uint32_t phase;     /* (k M) mod L of the next output */
    uint32_t delay_us;

    /* filters */
    biquad_state_t hp[1], lp[2], det[2];
    float bhist[5];     /* band-passed, for the derivative */
    float dsq[MWI_LEN]; /* squared derivative, integrator window */
    uint32_t out_count; /* index of the next output sample */

    float yhist[HIST_LEN]; /* filtered output signal, mV */
    float dhist[HIST_LEN]; /* |derivative| */

    /* integrator peak finder */
    float pk_val;
    uint32_t pk_idx;
    uint8_t rising;
    float trough;

    /* thresholds */
    float spk, npk;
    float learn_max, learn_sum;
    peak_t learn[LEARN_PEAKS];
    uint8_t n_learn;

    /* beats */
    uint8_t have_beat;
    uint32_t last_mwi;      /* integrator index of the last beat */
    uint32_t last_r;        /* R index of the last beat */
    float last_slope;
    uint16_t rr[RR_KEEP];   /* in output samples */
    uint8_t n_rr;
    uint8_t rr_pos;
    peak_t cand;            /* best search-back candidate since the last beat */

    /* gain normalisation */
    float amps[AMP_KEEP];
    uint8_t n_amps;
    uint8_t amp_pos;
    float norm_gain;        /* LSB per mV */

    /* quality window */
    uint32_t q_start;
    uint32_t q_in, q_rail;
    float q_min, q_max, q_abs, q_hf;
    float q_s1, q_s2, q_s3, q_s4; /* power sums of y, for the kurtosis */
    float y1, y2;           /* previous two outputs for the 2nd difference */
    uint8_t q_beats;
    uint8_t q_odd;          /* beats of odd amplitude in the window */
    uint8_t q_leads_off;

    /* queues */
    ws_ecg_beat_t beats[WS_ECG_BEAT_QUEUE];
    uint8_t beat_head, beat_count;
    ws_ecg_quality_t quality[WS_ECG_QUALITY_QUEUE];
    uint8_t q_head, q_count;
    uint32_t dropped;
};

/* ---- small maths (no libm, so the host and the device compute the same bits) ---- */

#define PI_D 3.14159265358979323846

static double cos_d(double x)
{
    const double two_pi = 2.0 * PI_D;
    long turns = (long)(x / two_pi + (x >= 0.0 ? 0.5 : -0.5));
    double r = x - (double)turns * two_pi; /* |r| <= pi */
    double r2 = r * r, term = 1.0, sum = 1.0;
    int k;
    for (k = 1; k <= 14; k++) {
        term *= -r2 / (double)((2 * k - 1) * (2 * k));
        sum += term;
    }
    return sum;
}

static double sin_d(double x) { return cos_d(x - PI_D / 2.0); }

static uint32_t gcd_u32(uint32_t a, uint32_t b)
{
    while (b != 0u) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static float biquad(biquad_state_t *s, const float c[5], float x)
{
    float y = c[0] * x + s->s1;
    s->s1 = c[1] * x - c[3] * y + s->s2;
    s->s2 = c[2] * x - c[4] * y;
    return y;
}

/* State of a biquad that has seen the constant x forever; returns its output. */
static float biquad_settle(biquad_state_t *s, const float c[5], float x)
{
    float y = x * (c[0] + c[1] + c[2]) / (1.0f + c[3] + c[4]);
    s->s2 = c[2] * x - c[4] * y;
    s->s1 = c[1] * x - c[3] * y + s->s2;
    return y;
}

static int16_t sat16(float v)
{
    if (v != v) { /* NaN: cannot arise from checked input, but never convert it */
        return 0;
    }
    if (v >= 32767.0f) {
        return 32767;
    }
    if (v <= -32768.0f) {
        return -32768;
    }
    return (int16_t)(v >= 0.0f ? v + 0.5f : v - 0.5f);
}

/* ---- resampler design ---- */

static void design_resampler(ws_ecg_t *st)
{
    const uint32_t L = st->up, M = st->down;
    const uint32_t n_taps = L * K_TAPS;
    const double centre = (double)(n_taps - 1u) / 2.0;
    /* cut-off at 80 % of the lower Nyquist frequency, in cycles per high-rate sample */
    const double fc = 0.8 * 0.5 / (double)(L > M ? L : M);
    /* cos and sin along n by the Chebyshev recurrence f(n+1) = 2 cos(w) f(n) - f(n-1):
     * a handful of series evaluations instead of three per tap (soft double on the M4) */
    const double w_win = 2.0 * PI_D / (double)(n_taps - 1u), w_sinc = 2.0 * PI_D * fc;
    const double k1 = 2.0 * cos_d(w_win), k2 = 2.0 * cos_d(2.0 * w_win);
    const double k3 = 2.0 * cos_d(w_sinc);
    double c1_prev = cos_d(-w_win), c1 = 1.0;             /* cos(n w_win) */
    double c2_prev = cos_d(-2.0 * w_win), c2 = 1.0;       /* cos(2 n w_win) */
    double s_prev = sin_d(w_sinc * (-1.0 - centre));      /* sin(w_sinc (n - centre)) */
    double s = sin_d(w_sinc * (0.0 - centre));
    double sum[WS_ECG_MAX_PHASES];
    uint32_t n, p, i;
    for (p = 0; p < L; p++) {
        sum[p] = 0.0;
    }
    for (n = 0; n < n_taps; n++) {
        double t = (double)n - centre;
        double w = 0.42 - 0.5 * c1 + 0.08 * c2; /* Blackman */
        double h = (t == 0.0) ? 2.0 * fc : s / (PI_D * t);
        double next;
        st->coef[n % L][n / L] = (float)(h * w);
        sum[n % L] += h * w;
        next = k1 * c1 - c1_prev;
        c1_prev = c1;
        c1 = next;
        next = k2 * c2 - c2_prev;
        c2_prev = c2;
        c2 = next;
        next = k3 * s - s_prev;
        s_prev = s;
        s = next;
    }
    /* each branch passes DC exactly: a flat input stays flat */
    for (p = 0; p < L; p++) {
        for (i = 0; i < K_TAPS; i++) {
            st->coef[p][i] = (float)((double)st->coef[p][i] / sum[p]);
        }
    }
    /* (n_taps - 1) / 2 high-rate samples = that / (L fs) seconds */
    st->delay_us = (uint32_t)((double)(n_taps - 1u) * 500000.0 /
                                  ((double)L * (double)st->cfg.fs_in_hz) + 0.5);
}

size_t ws_ecg_state_size(void) { return sizeof(ws_ecg_t); }

ws_status_t ws_ecg_init(ws_ecg_t *st, const ws_ecg_config_t *cfg)
{
    uint32_t g;
    if (st == NULL || cfg == NULL) {
        return WS_ERR_ARG;
    }
    if (cfg->fs_in_hz < 100u || cfg->fs_in_hz > 2000u) {
        return WS_ERR_DSP_RATE;
    }
    g = gcd_u32(cfg->fs_in_hz, RATE);
    if (RATE / g > WS_ECG_MAX_PHASES) {
        return WS_ERR_DSP_RATE;
    }
    /* !(x > 0) also rejects NaN */
    /* 0.1..1e6 counts per mV keeps every intermediate far from float overflow */
    if (!(cfg->adc_gain >= 0.1f) || cfg->adc_gain > 1.0e6f || cfg->adc_min >= cfg->adc_max ||
        cfg->adc_zero < cfg->adc_min || cfg->adc_zero > cfg->adc_max ||
        cfg->output_mode > (uint8_t)WS_ECG_OUT_NORMALISED) {
        return WS_ERR_DSP_CONFIG;
    }
    memset(st, 0, sizeof(*st));
    st->cfg = *cfg;
    st->inv_gain = 1.0f / cfg->adc_gain;
    st->up = (uint16_t)(RATE / g);
    st->down = (uint16_t)(cfg->fs_in_hz / g);
    st->bypass = (uint8_t)(st->up == 1u && st->down == 1u);
    if (!st->bypass) {
        design_resampler(st);
    }
    st->norm_gain = (float)WS_ECG_NORMALISED_R; /* until beats are seen: 1 mV = one R */
    st->q_min = 1.0e30f;
    st->q_max = -1.0e30f;
    st->magic = MAGIC;
    return WS_OK;
}

size_t ws_ecg_max_output(const ws_ecg_t *st, size_t n_in)
{
    if (st == NULL || st->magic != MAGIC || n_in == 0u || n_in > WS_ECG_MAX_BLOCK) {
        return 0;
    }
    return (n_in * st->up) / st->down + 1u;
}

void ws_ecg_set_leads_off(ws_ecg_t *st, uint8_t leads_off)
{
    if (st != NULL && st->magic == MAGIC) {
        st->leads_off_hw = (uint8_t)(leads_off != 0u);
    }
}

uint32_t ws_ecg_dropped(const ws_ecg_t *st) { return (st != NULL) ? st->dropped : 0u; }

uint32_t ws_ecg_delay_us(const ws_ecg_t *st) { return (st != NULL) ? st->delay_us : 0u; }

/* ---- queues ---- */

static void push_beat(ws_ecg_t *st, const ws_ecg_beat_t *b)
{
    if (st->beat_count >= WS_ECG_BEAT_QUEUE) {
        st->dropped++;
        return;
    }
    st->beats[(st->beat_head + st->beat_count) % WS_ECG_BEAT_QUEUE] = *b;
    st->beat_count++;
}

size_t ws_ecg_read_beats(ws_ecg_t *st, ws_ecg_beat_t *out, size_t cap)
{
    size_t n = 0;
    if (st == NULL || out == NULL || st->magic != MAGIC) {
        return 0;
    }
    while (n < cap && st->beat_count > 0u) {
        out[n++] = st->beats[st->beat_head];
        st->beat_head = (uint8_t)((st->beat_head + 1u) % WS_ECG_BEAT_QUEUE);
        st->beat_count--;
    }
    return n;
}

static void push_quality(ws_ecg_t *st, const ws_ecg_quality_t *q)
{
    if (st->q_count >= WS_ECG_QUALITY_QUEUE) {
        st->dropped++;
        return;
    }
    st->quality[(st->q_head + st->q_count) % WS_ECG_QUALITY_QUEUE] = *q;
    st->q_count++;
}

size_t ws_ecg_read_quality(ws_ecg_t *st, ws_ecg_quality_t *out, size_t cap)
{
    size_t n = 0;
    if (st == NULL || out == NULL || st->magic != MAGIC) {
        return 0;
    }
    while (n < cap && st->q_count > 0u) {
        out[n++] = st->quality[st->q_head];
        st->q_head = (uint8_t)((st->q_head + 1u) % WS_ECG_QUALITY_QUEUE);
        st->q_count--;
    }
    return n;
}

/* ---- QRS detector ---- */

static float hist_at(const float *h, uint32_t index) { return h[index & (HIST_LEN - 1u)]; }

/* Describes the complex whose integrator peak is at mwi_at (history must reach back
 * R_SEARCH_FROM samples, which HIST_LEN guarantees while peaks are emitted promptly). */
static peak_t describe_peak(const ws_ecg_t *st, uint32_t mwi_at, float value)
{
    peak_t p;
    uint32_t k, from, to, best;
    float best_abs = -1.0f, slope = 0.0f;
    p.mwi_at = mwi_at;
    p.value = value;
    p.valid = 1;
    from = (mwi_at >= R_SEARCH_FROM) ? mwi_at - R_SEARCH_FROM : 0u;
    to = (mwi_at >= R_SEARCH_TO) ? mwi_at - R_SEARCH_TO : 0u;
    best = to;
    for (k = from; k <= to; k++) {
        float a = hist_at(st->yhist, k);
        a = a < 0.0f ? -a : a;
        if (a > best_abs) {
            best_abs = a;
            best = k;
        }
    }
    for (k = (mwi_at >= MWI_LEN ? mwi_at - MWI_LEN : 0u); k <= mwi_at; k++) {
        float d = hist_at(st->dhist, k);
        slope = d > slope ? d : slope;
    }
    p.index = best;
    p.amp = hist_at(st->yhist, best);
    p.slope = slope;
    return p;
}

static float mean_rr(const ws_ecg_t *st)
{
    uint32_t i, sum = 0;
    if (st->n_rr == 0u) {
        return 0.0f;
    }
    for (i = 0; i < st->n_rr; i++) {
        sum += st->rr[i];
    }
    return (float)sum / (float)st->n_rr;
}

static void update_norm_gain(ws_ecg_t *st, float amp)
{
    float sorted[AMP_KEEP];
    uint32_t i, j, n;
    float a = amp < 0.0f ? -amp : amp, med;
    if (st->n_amps >= 4u) { /* judged against the beats before it */
        float typical = (float)WS_ECG_NORMALISED_R / st->norm_gain;
        if ((a < ODD_LOW * typical || a > ODD_HIGH * typical) && st->q_odd < 255u) {
            st->q_odd++;
        }
    }
    st->amps[st->amp_pos] = a;
    st->amp_pos = (uint8_t)((st->amp_pos + 1u) % AMP_KEEP);
    if (st->n_amps < AMP_KEEP) {
        st->n_amps++;
    }
    n = st->n_amps;
    for (i = 0; i < n; i++) { /* insertion sort of <= 8 values */
        float v = st->amps[i];
        j = i;
        while (j > 0u && sorted[j - 1u] > v) {
            sorted[j] = sorted[j - 1u];
            j--;
        }
        sorted[j] = v;
    }
    med = (n % 2u) ? sorted[n / 2u] : 0.5f * (sorted[n / 2u - 1u] + sorted[n / 2u]);
    if (med < 0.1f) {
        med = 0.1f;
    }
    if (med > 10.0f) {
        med = 10.0f;
    }
    st->norm_gain = (float)WS_ECG_NORMALISED_R / med;
}

static void accept_beat(ws_ecg_t *st, const peak_t *p, uint8_t flags)
{
    ws_ecg_beat_t b;
    float amp_uv = p->amp * 1000.0f;
    b.sample = p->index;
    b.flags = flags;
    b.rr_ms = 0;
    b.lag = (uint16_t)(st->out_count - p->index > 65535u ? 65535u : st->out_count - p->index);
    b.amp_uv = sat16(amp_uv);
    if (st->have_beat) {
        uint32_t rr = (p->index > st->last_r) ? p->index - st->last_r : 0u;
        uint32_t rr_ms = (rr > 60000u) ? 65535u : rr * (1000u / RATE);
        uint32_t rr_mwi = p->mwi_at - st->last_mwi;
        b.rr_ms = (uint16_t)(rr_ms > 65535u ? 65535u : rr_ms);
        st->rr[st->rr_pos] = (uint16_t)(rr_mwi > 65535u ? 65535u : rr_mwi);
        st->rr_pos = (uint8_t)((st->rr_pos + 1u) % RR_KEEP);
        if (st->n_rr < RR_KEEP) {
            st->n_rr++;
        }
    }
    st->have_beat = 1;
    st->last_mwi = p->mwi_at;
    st->last_r = p->index;
    st->last_slope = p->slope;
    st->cand.valid = 0;
    if (st->q_beats < 255u) {
        st->q_beats++;
    }
    update_norm_gain(st, p->amp);
    push_beat(st, &b);
}

static float threshold(const ws_ecg_t *st) { return st->npk + 0.25f * (st->spk - st->npk); }

/* A peak of the integrator, after the learning phase. */
static void classify_peak(ws_ecg_t *st, const peak_t *p)
{
    uint32_t since = st->have_beat ? p->mwi_at - st->last_mwi : 0xFFFFFFFFu;
    float thr = threshold(st);
    /* an artefact counts at most as three typical beats, so one spike cannot blind
     * the detector for long */
    float v = (st->spk > 0.0f && p->value > 3.0f * st->spk) ? 3.0f * st->spk : p->value;
    int is_twave;
    if (since < REFRACTORY) {
        return;
    }
    is_twave = (since < TWAVE_LIMIT) && (p->slope < 0.5f * st->last_slope);
    if (p->value > thr && !is_twave) {
        /* a gap this long before the beat hides a missed one (irregular rhythms reach
         * the next beat before the search-back deadline): take the best candidate */
        if (st->cand.valid && st->n_rr > 0u && (float)since > RETRO_GAP * mean_rr(st) &&
            st->cand.mwi_at - st->last_mwi >= TWAVE_LIMIT &&
            p->mwi_at - st->cand.mwi_at >= TWAVE_LIMIT) {
            peak_t c = st->cand;
            float cv = (st->spk > 0.0f && c.value > 3.0f * st->spk) ? 3.0f * st->spk : c.value;
            st->spk = 0.25f * cv + 0.75f * st->spk;
            accept_beat(st, &c, WS_BEAT_SEARCHBACK);
        }
        st->spk = 0.125f * v + 0.875f * st->spk;
        accept_beat(st, p, 0);
        return;
    }
    st->npk = 0.125f * v + 0.875f * st->npk;
    if (!is_twave && p->value > 0.5f * thr && (!st->cand.valid || p->value > st->cand.value)) {
        st->cand = *p;
    }
}

static void searchback(ws_ecg_t *st, uint32_t now)
{
    float rr = mean_rr(st);
    if (!st->cand.valid || !st->have_beat || st->n_rr == 0u) {
        return;
    }
    if ((float)(now - st->last_mwi) > 1.66f * rr) {
        peak_t p = st->cand;
        float v = (st->spk > 0.0f && p.value > 3.0f * st->spk) ? 3.0f * st->spk : p.value;
        st->spk = 0.25f * v + 0.75f * st->spk;
        accept_beat(st, &p, WS_BEAT_SEARCHBACK);
    }
}

static void end_learning(ws_ecg_t *st)
{
    uint32_t i;
    st->spk = 0.5f * st->learn_max;
    st->npk = st->learn_sum / (float)LEARN_LEN;
    for (i = 0; i < st->n_learn; i++) {
        classify_peak(st, &st->learn[i]);
    }
}

static void on_mwi_peak(ws_ecg_t *st, uint32_t index, float value)
{
    peak_t p = describe_peak(st, index, value);
    if (st->out_count <= LEARN_LEN) {
        if (st->n_learn < LEARN_PEAKS) {
            st->learn[st->n_learn++] = p;
        }
        return;
    }
    classify_peak(st, &p);
}

static void detect(ws_ecg_t *st, float x, uint32_t n)
{
    float b = biquad(&st->det[1], DET_SOS[1], biquad(&st->det[0], DET_SOS[0], x));
    float d, m = 0.0f;
    uint32_t i;
    memmove(&st->bhist[1], &st->bhist[0], 4u * sizeof(float));
    st->bhist[0] = b;
    /* five-point derivative, scaled to mV/s */
    d = (2.0f * st->bhist[0] + st->bhist[1] - st->bhist[3] - 2.0f * st->bhist[4]) *
        ((float)RATE / 8.0f);
    st->dhist[n & (HIST_LEN - 1u)] = d < 0.0f ? -d : d;
    st->dsq[n % MWI_LEN] = d * d;
    for (i = 0; i < MWI_LEN; i++) { /* summed afresh: no drift over days */
        m += st->dsq[i];
    }
    m /= (float)MWI_LEN;

    if (n < LEARN_LEN) {
        st->learn_max = m > st->learn_max ? m : st->learn_max;
        st->learn_sum += m;
    }
    /* a peak is declared once the integrator has fallen to half of it */
    if (st->rising) {
        if (m > st->pk_val) {
            st->pk_val = m;
            st->pk_idx = n;
        } else if (m < 0.5f * st->pk_val || n - st->pk_idx >= PEAK_HOLD) {
            on_mwi_peak(st, st->pk_idx, st->pk_val);
            st->rising = 0;
            st->trough = m;
        }
    } else if (m < st->trough) {
        st->trough = m;
    } else if (m > st->trough) {
        st->rising = 1;
        st->pk_val = m;
        st->pk_idx = n;
    }
    if (n == LEARN_LEN) {
        end_learning(st);
    }
    if (n > LEARN_LEN) {
        searchback(st, n);
    }
}

/* ---- signal quality ---- */

static void close_quality_window(ws_ecg_t *st)
{
    ws_ecg_quality_t q;
    float p2p = st->q_max - st->q_min;
    float n = (float)WS_ECG_QUALITY_WINDOW;
    float mu = st->q_s1 / n;
    float m2 = st->q_s2 / n - mu * mu;
    float m4 = st->q_s4 / n - 4.0f * mu * st->q_s3 / n + 6.0f * mu * mu * st->q_s2 / n -
               3.0f * mu * mu * mu * mu;
    uint8_t flags = 0;
    if (st->q_leads_off || (st->q_in > 0u && st->q_rail * RAIL_FRACTION_OFF >= st->q_in)) {
        flags |= WS_QUALITY_LEADS_OFF;
    } else {
        if (st->q_in > 0u && st->q_rail * RAIL_FRACTION_SAT >= st->q_in) {
            flags |= WS_QUALITY_SATURATED;
        }
        if (p2p < FLAT_P2P_MV) {
            flags |= WS_QUALITY_FLAT;
        } else if (p2p > NOISE_P2P_MV || st->q_hf > NOISE_HF_RATIO * st->q_abs ||
                   m4 < NOISE_KURTOSIS * m2 * m2 || st->q_odd >= NOISE_ODD_BEATS) {
            flags |= WS_QUALITY_NOISY;
        }
    }
    q.start = st->q_start;
    q.flags = flags;
    q.beats = st->q_beats;
    push_quality(st, &q);
    st->q_start += WS_ECG_QUALITY_WINDOW;
    st->q_in = 0;
    st->q_rail = 0;
    st->q_min = 1.0e30f;
    st->q_max = -1.0e30f;
    st->q_abs = 0.0f;
    st->q_hf = 0.0f;
    st->q_s1 = st->q_s2 = st->q_s3 = st->q_s4 = 0.0f;
    st->q_beats = 0;
    st->q_odd = 0;
    st->q_leads_off = 0;
}

/* ---- the chain, one output sample at a time ---- */

static void output_sample(ws_ecg_t *st, float x, int16_t *out, size_t *n_out)
{
    uint32_t n = st->out_count;
    float y;
    if (!st->started) { /* start every filter as if x had always been there */
        float h = biquad_settle(&st->hp[0], HP_SOS[0], x);
        float l = biquad_settle(&st->lp[0], LP_SOS[0], h);
        (void)biquad_settle(&st->lp[1], LP_SOS[1], l);
        l = biquad_settle(&st->det[0], DET_SOS[0], x);
        (void)biquad_settle(&st->det[1], DET_SOS[1], l);
        st->started = 1;
    }
    y = biquad(&st->hp[0], HP_SOS[0], x);
    y = biquad(&st->lp[1], LP_SOS[1], biquad(&st->lp[0], LP_SOS[0], y));
    st->yhist[n & (HIST_LEN - 1u)] = y;
    detect(st, x, n);

    out[(*n_out)++] = sat16(y * (st->cfg.output_mode == WS_ECG_OUT_NORMALISED
                                     ? st->norm_gain
                                     : 1000.0f));

    st->q_min = y < st->q_min ? y : st->q_min;
    st->q_max = y > st->q_max ? y : st->q_max;
    st->q_abs += y < 0.0f ? -y : y;
    {
        float y2 = y * y;
        st->q_s1 += y;
        st->q_s2 += y2;
        st->q_s3 += y2 * y;
        st->q_s4 += y2 * y2;
    }
    if (n >= 2u) {
        float hf = y - 2.0f * st->y1 + st->y2;
        st->q_hf += hf < 0.0f ? -hf : hf;
    }
    st->y2 = st->y1;
    st->y1 = y;
    st->out_count = n + 1u;
    if (st->out_count - st->q_start >= WS_ECG_QUALITY_WINDOW) {
        close_quality_window(st);
    }
}

static void input_sample(ws_ecg_t *st, int16_t raw, int16_t *out, size_t *n_out)
{
    float x = (float)((int32_t)raw - st->cfg.adc_zero) * st->inv_gain;
    int32_t margin = (st->cfg.adc_max - st->cfg.adc_min) / 256;
    uint32_t j = st->in_count;
    st->q_in++;
    if ((int32_t)raw <= st->cfg.adc_min + margin || (int32_t)raw >= st->cfg.adc_max - margin) {
        st->q_rail++;
    }
    if (st->leads_off_hw) {
        st->q_leads_off = 1;
    }
    if (st->bypass) {
        output_sample(st, x, out, n_out);
    } else {
        uint32_t i;
        if (j == 0u) { /* the history starts filled with the first sample */
            for (i = 0; i < K_TAPS; i++) {
                st->xhist[i] = x;
            }
        }
        st->xhist[st->xhist_pos] = x;
        while (st->next_in == j) {
            const float *c = st->coef[st->phase];
            float acc = 0.0f;
            uint32_t pos = st->xhist_pos;
            for (i = 0; i < K_TAPS; i++) { /* newest sample first */
                acc += c[i] * st->xhist[pos];
                pos = (pos == 0u) ? K_TAPS - 1u : pos - 1u;
            }
            output_sample(st, acc, out, n_out);
            st->phase += st->down;
            st->next_in += st->phase / st->up;
            st->phase %= st->up;
        }
        st->xhist_pos = (st->xhist_pos + 1u) % K_TAPS;
    }
    st->in_count = j + 1u;
}

ws_status_t ws_ecg_process(ws_ecg_t *st, const int16_t *in, size_t n_in, int16_t *out,
                           size_t out_cap, size_t *n_out)
{
    size_t i;
    if (st == NULL || n_out == NULL || (n_in > 0u && (in == NULL || out == NULL))) {
        return WS_ERR_ARG;
    }
    if (st->magic != MAGIC) {
        return WS_ERR_STATE;
    }
    if (n_in > WS_ECG_MAX_BLOCK) {
        return WS_ERR_RANGE;
    }
    *n_out = 0;
    if (out_cap < ws_ecg_max_output(st, n_in)) {
        return WS_ERR_ARG;
    }
    for (i = 0; i < n_in; i++) {
        input_sample(st, in[i], out, n_out);
    }
    return WS_OK;
}
