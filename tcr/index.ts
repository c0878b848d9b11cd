/** Transactive controller: pure battery model and bid/offer curves (DESIGN §6). */
export { TcrError, type TcrErrorCode } from './tcrError.js';
export {
  DEFAULT_BATTERY_PARAMS, createBatteryParams, degradationCostExactMcPerKWh, degradationCostMcPerKWh, degradationCostMc,
  type BatteryParams,
} from './batteryParams.js';
export {
  decideMarketOrder, fillBatteryWh, projectSoc, createMarketOrderParams, DEFAULT_MARKET_ORDER_PARAMS,
  type MarketOrderParams, type MarketOrderInput, type P2pOrder, type MarketOrderDecision, type MarketOrderTrace, type NoOrderReason, type SocStep,
} from './decideMarketOrder.js';
export {
  stepBattery, maxChargeWh, maxDischargeWh, checkState, checkInterval, MAX_INTERVAL_S,
  type BatteryState, type BatteryRequest, type StepResult, type StepLimit,
} from './stepBattery.js';
export {
  DEFAULT_CURVE_PARAMS, MAX_PRICE_MC_PER_KWH, createCurveParams, normalizedSoc,
  offerQuantityWh, bidQuantityWh, offerPriceMcPerKWh, bidPriceMcPerKWh, type CurveParams,
} from './curves.js';
export { createTcrParams, type TcrParams, type TcrParamsInput } from './tcrParams.js';
export {
  decide, deliverySeconds, type Decision, type DecisionTrace, type HomeForecast, type NoBidReason, type TcrBid,
} from './decide.js';
export { curvesSvg, type CurvesSvgOptions } from './curvesSvg.js';
