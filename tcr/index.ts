/** Transactive controller: pure battery model and bid/offer curves (DESIGN §6); flexible loads and their P2P orders (§8b). */
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
export {
  DEFAULT_LOAD_PRICING, urgencyPriceMcPerKWh, type EnergyRange, type LoadPricing, type MarketOrder, type OrderSide,
} from './marketOrder.js';
export {
  DEFAULT_EV_PARAMS, MAX_EV_INTERVALS, createEvParams, checkEvState, evIntervalsLeft, evEnergyNeededWh, evMaxIntervalWh,
  stepEv, evBidParts, evEnergyRange, evOrders,
  type EvParams, type EvState, type EvRequest, type EvLimit, type EvStepResult, type EvBidParts,
} from './evCharger.js';
export {
  DEFAULT_THERMAL_PARAMS, THERMAL_TEMP_RANGE_C, createThermalParams, checkThermalState, stepThermal, thermalEnergyRange,
  thermalBandPosition, thermalPriceMcPerKWh, thermalOrders,
  type ThermalParams, type ThermalState, type ThermalRequest, type ThermalLimit, type ThermalStepResult,
} from './thermalLoad.js';
export {
  DEFAULT_SHIFTABLE_PARAMS, createShiftableParams, checkShiftableState, shiftablePhase, stepShiftable, shiftableEnergyRange,
  shiftableSlack, shiftablePriceMcPerKWh, cheaperStartLater, shiftableOrders, decideShiftable,
  type ShiftableParams, type ShiftableState, type ShiftablePhase, type ShiftableRequest, type ShiftableStepResult,
  type ShiftableReason, type ShiftableDecision,
} from './shiftableLoad.js';
export {
  DEFAULT_ACTIVE_USER_PARAMS, createActiveUserParams, activeUserOrders,
  type ActiveUserParams, type ActiveUserForecast,
} from './activeUser.js';
export {
  commitmentTotals, homeImportRange, roomLeft, dispatchInterval,
  type HomeDevices, type IntervalForecast, type Market, type Commitment, type CommitmentTotals, type ImportRange, type Room,
  type Dispatch,
} from './commitments.js';
export {
  decideActiveUserOrder, deviceWhForFill,
  type ActiveUserOrderInput, type ActiveUserOrderTrace, type ActiveUserOrderDecision,
} from './decideActiveUserOrder.js';
