/* The IMU front end (ws_dsp_imu.h): resampler, units, impact trigger, int8 windows.
 *
 * The resampler is a polyphase FIR: output frame k = sum_i h[k*M - i*L] * x[i], which is
 * what scipy.signal.upfirdn computes; `phase` holds k*M - n*L (n = inputs taken) so no
 * counter can overflow however long the stream runs. The taps are designed at init in
 * double precision with a local sine, and |a| uses a local square root: no libm at all,
 * so every target (and the numpy mirror in the tests) derives the same bits. */
#include <string.h>

#include "ws_dsp_imu.h"

#define IMU_MAGIC 0x494d5531u /* "IMU1" */
#define RS_MAGIC 0x494d5552u  /* "IMUR" */

struct ws_imu_resampler {
    uint32_t magic;
    uint16_t up;    /* L */
    uint16_t down;  /* M */
    uint16_t ntaps;
    uint16_t head;  /* history slot of the newest input */
    int32_t phase;  /* k*M - n*L; an output is ready while it is negative */
    float taps[WS_IMU_MAX_TAPS];
    float hist[WS_IMU_HISTORY][WS_IMU_AXES];
};

struct ws_imu {
    uint32_t magic;
    ws_imu_resampler_t rs;
    float acc_scale;
    float gyro_scale;
    float impact_g;
    uint16_t refractory;
    uint8_t pending;            /* impact candidates waiting for the frames after their peak */
    uint32_t frames;            /* 50 Hz frames produced */
    float last[WS_IMU_CHANNELS];
    int8_t ring[WS_IMU_RING][WS_IMU_CHANNELS];
    /* impact trigger: up to two candidates (count in `pending`), the oldest first */
    uint32_t burst_end[2];      /* last frame each candidate's peak may move to */
    uint32_t peak_frame[2];
    float peak_g[2];
    uint32_t quiet_until;       /* refractory: no new candidate opens before this frame ... */
    float last_g;               /* ... unless |a| exceeds the last reported peak */
};

/* ------------------------------------------------------------------ filter design */

/* sin(pi * t) for any moderate t, in double, without libm. */
static double sin_pi(double t)
{
    double x;
    double x2;
    double k = (double)(int32_t)(t / 2.0 + (t >= 0.0 ? 0.5 : -0.5));
    t -= 2.0 * k; /* now in [-1, 1] */
    if (t > 0.5) {
        t = 1.0 - t;
    } else if (t < -0.5) {
        t = -1.0 - t;
    }
    x = 3.14159265358979323846 * t; /* [-pi/2, pi/2]: Taylor to x^17 is exact to 1e-15 */
    x2 = x * x;
    return x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0 *
           (1.0 - x2 / 110.0 * (1.0 - x2 / 156.0 * (1.0 - x2 / 210.0 * (1.0 - x2 / 272.0))))))));
}

static uint16_t gcd16(uint16_t a, uint16_t b)
{
    while (b != 0) {
        uint16_t r = (uint16_t)(a % b);
        a = b;
        b = r;
    }
    return a;
}

size_t ws_imu_resampler_size(void)
{
    return sizeof(ws_imu_resampler_t);
}

ws_status_t ws_imu_resampler_init(ws_imu_resampler_t *rs, uint16_t fs_in_hz)
{
    uint16_t g;
    uint16_t up;
    uint16_t down;
    uint16_t ratio;
    size_t n;
    double wc;
    double sum = 0.0;
    double h[WS_IMU_MAX_TAPS];

    if (rs == NULL) {
        return WS_ERR_ARG;
    }
    memset(rs, 0, sizeof *rs);
    if (fs_in_hz == 0) {
        return WS_ERR_IMU_RATE;
    }
    g = gcd16(fs_in_hz, WS_IMU_RATE_HZ);
    up = (uint16_t)(WS_IMU_RATE_HZ / g);
    down = (uint16_t)(fs_in_hz / g);
    if (up > WS_IMU_MAX_RATIO || down > WS_IMU_MAX_RATIO) {
        return WS_ERR_IMU_RATE;
    }
    rs->up = up;
    rs->down = down;
    if (up == 1 && down == 1) {
        rs->ntaps = 1; /* already at the device rate: a pass-through */
        rs->taps[0] = 1.0f;
    } else {
        ratio = up > down ? up : down;
        rs->ntaps = (uint16_t)(2 * WS_IMU_ZERO_CROSSINGS * ratio + 1);
        /* cutoff as a fraction of the upsampled Nyquist rate: 0.8 x min(fs_in, 50)/2
         * over L*fs_in/2, i.e. 0.8 / max(L, M) */
        wc = (double)WS_IMU_CUTOFF_PERMILLE / 1000.0 / (double)ratio;
        for (n = 0; n < rs->ntaps; n++) {
            double centre = (double)(rs->ntaps - 1) / 2.0;
            double x = wc * ((double)n - centre);
            double sinc = x == 0.0 ? 1.0 : sin_pi(x) / (3.14159265358979323846 * x);
            /* Hamming: 0.54 - 0.46 cos(2 pi n / (N - 1)), cos(y) = sin(y + pi/2) */
            double w = 0.54 - 0.46 * sin_pi(2.0 * (double)n / (double)(rs->ntaps - 1) + 0.5);
            h[n] = wc * sinc * w;
            sum += h[n];
        }
        for (n = 0; n < rs->ntaps; n++) {
            rs->taps[n] = (float)(h[n] * (double)up / sum); /* DC gain L before decimation */
        }
    }
    rs->magic = RS_MAGIC;
    return WS_OK;
}

void ws_imu_resampler_ratio(const ws_imu_resampler_t *rs, uint16_t *up, uint16_t *down)
{
    if (rs == NULL || up == NULL || down == NULL) {
        return;
    }
    *up = rs->up;
    *down = rs->down;
}

size_t ws_imu_resampler_taps(const ws_imu_resampler_t *rs, float *taps, size_t cap)
{
    size_t n;
    if (rs == NULL || rs->magic != RS_MAGIC) {
        return 0;
    }
    for (n = 0; n < rs->ntaps && taps != NULL && n < cap; n++) {
        taps[n] = rs->taps[n];
    }
    return rs->ntaps;
}

static void rs_push(ws_imu_resampler_t *rs, const float x[WS_IMU_AXES])
{
    rs->head = (uint16_t)(rs->head + 1 == WS_IMU_HISTORY ? 0 : rs->head + 1);
    memcpy(rs->hist[rs->head], x, sizeof rs->hist[0]);
    rs->phase -= (int32_t)rs->up;
}

/* Computes the ready output (phase < 0) into y and advances to the next one. */
static void rs_output(ws_imu_resampler_t *rs, float y[WS_IMU_AXES])
{
    uint16_t j = (uint16_t)(rs->phase + (int32_t)rs->up); /* in [0, L-1] */
    uint16_t slot = rs->head;
    int c;
    for (c = 0; c < WS_IMU_AXES; c++) {
        y[c] = 0.0f;
    }
    for (; j < rs->ntaps; j = (uint16_t)(j + rs->up)) {
        for (c = 0; c < WS_IMU_AXES; c++) {
            y[c] += rs->taps[j] * rs->hist[slot][c];
        }
        slot = (uint16_t)(slot == 0 ? WS_IMU_HISTORY - 1 : slot - 1);
    }
    rs->phase += (int32_t)rs->down;
}

size_t ws_imu_resampler_max_output(const ws_imu_resampler_t *rs, size_t n_in)
{
    if (rs == NULL || rs->magic != RS_MAGIC) {
        return 0;
    }
    return (n_in * rs->up + rs->down - 1) / rs->down + 1;
}

ws_status_t ws_imu_resample(ws_imu_resampler_t *rs, const float *in, size_t n_in, float *out,
                            size_t out_cap, size_t *n_out)
{
    size_t i;
    size_t k = 0;
    if (rs == NULL || n_out == NULL || (in == NULL && n_in > 0)) {
        return WS_ERR_ARG;
    }
    *n_out = 0;
    if (rs->magic != RS_MAGIC) {
        return WS_ERR_STATE;
    }
    if (out == NULL || out_cap < ws_imu_resampler_max_output(rs, n_in)) {
        return WS_ERR_ARG;
    }
    for (i = 0; i < n_in; i++) {
        rs_push(rs, &in[i * WS_IMU_AXES]);
        while (rs->phase < 0) {
            rs_output(rs, &out[k * WS_IMU_AXES]);
            k++;
        }
    }
    *n_out = k;
    return WS_OK;
}

/* ------------------------------------------------------------------ front end */

static int8_t quantize(float v)
{
    float r;
    int32_t t;
    if (!(v > -128.0f)) {
        return -128;
    }
    if (v >= 127.0f) {
        return 127;
    }
    r = v + 0.5f; /* round half up: floor(v + 0.5) */
    t = (int32_t)r;
    if ((float)t > r) {
        t -= 1;
    }
    return (int8_t)t;
}

/* Square root by a bit-level first guess and three Newton steps, in plain float ops
 * (IEEE 754 rounds each the same everywhere); relative error below 1e-7. */
static float imu_sqrt(float x)
{
    uint32_t bits;
    float y;
    int k;
    if (!(x > 0.0f)) {
        return 0.0f;
    }
    memcpy(&bits, &x, sizeof bits);
    bits = 0x1fbd1df5u + (bits >> 1);
    memcpy(&y, &bits, sizeof y);
    for (k = 0; k < 3; k++) {
        y = 0.5f * (y + x / y);
    }
    return y;
}

static int finite(float v)
{
    return (v - v) == 0.0f; /* false for NaN and +-inf */
}

size_t ws_imu_state_size(void)
{
    return sizeof(ws_imu_t);
}

ws_status_t ws_imu_init(ws_imu_t *st, const ws_imu_config_t *cfg)
{
    ws_status_t s;
    if (st == NULL || cfg == NULL) {
        return WS_ERR_ARG;
    }
    memset(st, 0, sizeof *st);
    if (!finite(cfg->acc_scale) || !(cfg->acc_scale > 0.0f) || cfg->acc_scale > 1000.0f ||
        !finite(cfg->gyro_scale) || !(cfg->gyro_scale >= 0.0f) || cfg->gyro_scale > 1000.0f ||
        !(cfg->impact_g >= 1.0f) || !(cfg->impact_g <= 16.0f)) {
        return WS_ERR_IMU_CONFIG;
    }
    s = ws_imu_resampler_init(&st->rs, cfg->fs_in_hz);
    if (s != WS_OK) {
        return s;
    }
    st->acc_scale = cfg->acc_scale;
    st->gyro_scale = cfg->gyro_scale;
    st->impact_g = cfg->impact_g;
    st->refractory = cfg->refractory;
    st->magic = IMU_MAGIC;
    return WS_OK;
}

static void open_candidate(ws_imu_t *st, uint8_t k, uint32_t f, float mag)
{
    st->peak_g[k] = mag;
    st->peak_frame[k] = f;
    st->burst_end[k] = f + WS_IMU_BURST - 1;
    st->pending = (uint8_t)(k + 1u);
}

/* One 50 Hz frame y (acc g, gyro deg/s): store it, run the trigger, say what it ends. */
static uint8_t frame(ws_imu_t *st, const float y[WS_IMU_AXES], ws_imu_event_t *event)
{
    uint32_t f = st->frames;
    int8_t *q = st->ring[f % WS_IMU_RING];
    float mag = imu_sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2]);
    const float acc_lsb = (float)WS_IMU_ACC_LSB_PER_G;
    const float gyro_lsb = 1.0f / (float)WS_IMU_GYRO_DPS_PER_LSB;
    uint8_t flags = 0;

    st->last[0] = y[0];
    st->last[1] = y[1];
    st->last[2] = y[2];
    st->last[3] = mag;
    st->last[4] = y[3];
    st->last[5] = y[4];
    st->last[6] = y[5];
    q[0] = quantize(y[0] * acc_lsb);
    q[1] = quantize(y[1] * acc_lsb);
    q[2] = quantize(y[2] * acc_lsb);
    q[3] = quantize((mag - 1.0f) * acc_lsb);
    q[4] = quantize(y[3] * gyro_lsb);
    q[5] = quantize(y[4] * gyro_lsb);
    q[6] = quantize(y[5] * gyro_lsb);
    st->frames = f + 1;

    /* Impact trigger (docs/imu-front-end.md): a crossing opens a candidate; a larger |a|
     * moves it, up to WS_IMU_BURST frames after the crossing, so the window lands on the
     * largest impact of a burst (a fall's impact after a step or a stumble). A larger |a|
     * that comes too late to move it opens a second candidate. Each is reported once the
     * frames after its peak exist. In the refractory time after a reported peak only a
     * larger |a| opens a new candidate. */
    if (st->pending == 0) {
        if (mag >= st->impact_g && (f >= st->quiet_until || mag > st->last_g)) {
            open_candidate(st, 0, f, mag);
        }
    } else {
        uint8_t k = (uint8_t)(st->pending - 1u); /* the newest candidate */
        if (mag > st->peak_g[k]) {
            if (f <= st->burst_end[k]) {
                st->peak_g[k] = mag;
                st->peak_frame[k] = f;
            } else if (k == 0) {
                open_candidate(st, 1, f, mag);
            }
            /* k == 1 past its burst cannot happen: slot 0 is reported by then */
        }
    }
    if (st->pending > 0 && f - st->peak_frame[0] == WS_IMU_WINDOW - WS_IMU_IMPACT_PRE - 1) {
        flags |= WS_IMU_EV_IMPACT;
        event->impact_frame = st->peak_frame[0];
        event->impact_g = st->peak_g[0];
        st->quiet_until = st->peak_frame[0] + st->refractory;
        st->last_g = st->peak_g[0];
        st->burst_end[0] = st->burst_end[1];
        st->peak_frame[0] = st->peak_frame[1];
        st->peak_g[0] = st->peak_g[1];
        st->pending--;
    }
    if (f + 1 >= WS_IMU_WINDOW && (f + 1 - WS_IMU_WINDOW) % WS_IMU_HOP == 0) {
        flags |= WS_IMU_EV_WINDOW;
    }
    return flags;
}

ws_status_t ws_imu_process(ws_imu_t *st, const float *in, size_t n_in, size_t *consumed,
                           ws_imu_event_t *event)
{
    size_t i = 0;
    if (st == NULL || consumed == NULL || event == NULL || (in == NULL && n_in > 0)) {
        return WS_ERR_ARG;
    }
    *consumed = 0;
    memset(event, 0, sizeof *event);
    if (st->magic != IMU_MAGIC) {
        return WS_ERR_STATE;
    }
    for (;;) {
        /* outputs left over from the input taken last (a call may stop between them) */
        while (st->rs.phase < 0) {
            float y[WS_IMU_AXES];
            uint8_t flags;
            rs_output(&st->rs, y);
            flags = frame(st, y, event);
            if (flags != 0) {
                event->flags = flags;
                event->frame = st->frames - 1;
                *consumed = i;
                return WS_OK;
            }
        }
        if (i == n_in) {
            break;
        }
        {
            float x[WS_IMU_AXES];
            int c;
            for (c = 0; c < WS_IMU_AXES; c++) {
                x[c] = in[i * WS_IMU_AXES + (size_t)c] * (c < 3 ? st->acc_scale : st->gyro_scale);
                if (!finite(x[c])) {
                    *consumed = i;
                    return WS_ERR_RANGE;
                }
            }
            rs_push(&st->rs, x);
        }
        i++;
    }
    *consumed = i;
    return WS_OK;
}

ws_status_t ws_imu_window(const ws_imu_t *st, int8_t *out, size_t cap)
{
    uint32_t n;
    if (st == NULL || out == NULL || cap < (size_t)WS_IMU_WINDOW * WS_IMU_CHANNELS) {
        return WS_ERR_ARG;
    }
    for (n = 0; n < WS_IMU_WINDOW; n++) {
        /* frame index of row n: frames - WINDOW + n, zero before the stream began */
        int8_t *row = &out[n * WS_IMU_CHANNELS];
        if (st->frames + n < WS_IMU_WINDOW) {
            memset(row, 0, WS_IMU_CHANNELS);
        } else {
            uint32_t f = st->frames + n - WS_IMU_WINDOW;
            memcpy(row, st->ring[f % WS_IMU_RING], WS_IMU_CHANNELS);
        }
    }
    return WS_OK;
}

uint32_t ws_imu_frames(const ws_imu_t *st)
{
    return st == NULL ? 0 : st->frames;
}

void ws_imu_last_frame(const ws_imu_t *st, float out[7])
{
    if (st == NULL || out == NULL) {
        return;
    }
    memcpy(out, st->last, sizeof st->last);
}

uint32_t ws_imu_delay_us(const ws_imu_t *st)
{
    uint64_t num;
    uint64_t den;
    if (st == NULL || st->magic != IMU_MAGIC) {
        return 0;
    }
    /* (ntaps - 1) / 2 samples at L * fs_in; fs_in = 50 * M / L */
    num = (uint64_t)(st->rs.ntaps - 1u) * 1000000u;
    den = 2u * (uint64_t)WS_IMU_RATE_HZ * st->rs.down;
    return (uint32_t)((num + den / 2u) / den);
}
