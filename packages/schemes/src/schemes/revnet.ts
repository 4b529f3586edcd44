import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applyLayer, ChannelSlice, type SchemeDefinition } from '@lm/core-blocks';
import { eulerUpdate, shortcutEulerStep } from './euler-update';

/**
 * RevNet's coupling as forward Euler on a system split by channels, u = (x1, x2):
 * y1 = x1 + Δt F(x2), y2 = x2 + Δt G(y1); exactly invertible (see {@link invertRevNetStep}).
 * Steps that change shape are ordinary (non-reversible) Euler steps through the shortcut.
 */
export const revnetCoupling: SchemeDefinition<{}> = {
  description: 'RevNet coupling: y1 = x1 + dt F(x2), y2 = x2 + dt G(y1) on a channel split (exact inverse)',
  step: (state, ctx) => {
    if (ctx.changesShape) return { u: shortcutEulerStep(state, ctx).u };
    if (ctx.inChannels % 2 !== 0) throw new Error(`revnet: step '${ctx.name}' has an odd channel count ${ctx.inChannels}.`);
    const half = ctx.inChannels / 2;
    const x1 = applyLayer(new ChannelSlice({ begin: 0, size: half, name: `${ctx.name}_x1` }), state.u);
    const x2 = applyLayer(new ChannelSlice({ begin: half, size: half, name: `${ctx.name}_x2` }), state.u);
    const F = ctx.residual({ inChannels: half, outChannels: half, suffix: 'F' });
    const G = ctx.residual({ inChannels: half, outChannels: half, suffix: 'G' });
    const y1 = eulerUpdate(x1, F(x2), ctx.dt, `${ctx.name}_y1`);
    const y2 = eulerUpdate(x2, G(y1), ctx.dt, `${ctx.name}_y2`);
    const u = applyLayer(tfl.layers.concatenate({ axis: -1, name: `${ctx.name}_cat` }), [y1, y2]);
    return { u: ctx.finishStep(u) };
  },
};

/**
 * Reconstructs the input of the RevNet step `stepName` from its output y (evaluation mode):
 * x2 = y2 − Δt G(y1), x1 = y1 − Δt F(x2).
 */
export function invertRevNetStep(model: tfl.LayersModel, stepName: string, y: tf.Tensor4D, dt = 1): tf.Tensor4D {
  return tf.tidy(() => {
    const F = model.getLayer(`${stepName}_F`);
    const G = model.getLayer(`${stepName}_G`);
    const half = y.shape[3] / 2;
    const [y1, y2] = tf.split(y, [half, half], 3) as [tf.Tensor4D, tf.Tensor4D];
    const x2 = tf.sub(y2, tf.mul(G.apply(y1, { training: false }) as tf.Tensor4D, dt));
    const x1 = tf.sub(y1, tf.mul(F.apply(x2, { training: false }) as tf.Tensor4D, dt));
    return tf.concat4d([x1 as tf.Tensor4D, x2 as tf.Tensor4D], 3);
  });
}
