// The HEM home page: reads /api/home, /api/market and /api/auctions and writes them into the page.
// Plain JS, no framework; every value goes in with textContent.
'use strict';
(function () {
  var probe = { ready: false, refreshes: 0, errors: [] };
  window.tmiHome = probe;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function money(mc) {
    // millicents (exact decimal string or number) and the same in cents
    if (mc === null || mc === undefined) return 'not known here';
    var n = Number(mc);
    return mc + ' millicents (' + (n / 1000).toFixed(3) + ' cents)';
  }
  function time(iso) { return iso ? new Date(iso).toLocaleTimeString() : ''; }
  function get(url) {
    return fetch(url, { headers: { accept: 'application/json' } }).then(function (r) {
      if (!r.ok) throw new Error(url + ' ' + r.status);
      return r.json();
    });
  }

  function renderHome(h) {
    $('meterId').textContent = h.meterId;
    $('status').textContent = 'as of ' + new Date(h.at).toLocaleString() + ' · broker ' + (h.connectedToBroker ? 'connected' : 'not connected') +
      (h.chainNode ? ' · chain node at height ' + h.chainNode.height + ', final block ' + h.chainNode.finalizedHeight : ' · no chain node on this HEM');
    $('soc').textContent = h.battery.socPercent + ' %';
    $('capacity').textContent = 'battery capacity ' + h.battery.capacityWh + ' Wh';
    var w = h.wallet;
    // [HEM-FIN] the balance at the final block first; what blocks not final yet changed apart
    $('balance').textContent = w.balanceMillicents === null ? 'not known here'
      : w.finalBalanceMillicents === null ? money(w.balanceMillicents) + ' at the head (the final part is not known yet)'
      : money(w.finalBalanceMillicents) + ' final';
    $('balance').dataset.unconfirmed = w.unconfirmedChangeMillicents && w.unconfirmedChangeMillicents !== '0' ? '1' : '0';
    $('rewards').textContent = w.balanceMillicents === null ? w.notKnownHere
      : w.inWords + ' · block rewards received ' + money(w.blockRewardsReceivedMillicents) + ' · settled earnings from auctions (received − paid − penalties) ' +
        money(h.settledEarningsMillicents) + ' final, ' + money(h.settledEarningsUnconfirmedMillicents) + ' not final yet · ' + w.pseudonyms.length + ' pseudonym wallet(s)';
    var e = h.election;
    $('cpf').textContent = e.cpfOfLastReading === null ? 'no reading yet' : e.cpfOfLastReading.toFixed(4);
    $('exchange').textContent = e.lastReadingGridExchangeWh === null ? '' : '|P − C| of the last reading ' + e.lastReadingGridExchangeWh + ' Wh · programme ' + (e.programme || '?');
    if (!e.ranking) {
      $('rank').textContent = 'not known here';
      $('rankWhy').textContent = e.notKnownHere || '';
    } else {
      var r = e.ranking;
      $('rank').textContent = r.rank === null ? 'not ranked' : 'rank ' + r.rank + ' of ' + r.validators;
      $('rankWhy').textContent = 'epoch ' + r.epoch + ' (scores interval ' + r.scoredInterval + ')' +
        (r.scoreWh === null ? '' : ' · score |P − C| ' + r.scoreWh + ' Wh (chain rule ' + r.scoreRule + ')') +
        ' · first place decided by ' + r.decidedBy + (r.whyNotRanked ? ' · ' + r.whyNotRanked : '');
    }
    var body = $('readings').tBodies[0];
    body.textContent = '';
    h.today.readings.forEach(function (x) {
      var tr = el('tr');
      [time(x.interval.start), x.producedWh, x.consumedWh, x.chargedWh, x.dischargedWh, x.socAtEndPercent, x.gridExchangeWh]
        .forEach(function (v) { tr.appendChild(el('td', v)); });
      body.appendChild(tr);
    });
    var foot = $('readings').tFoot;
    foot.textContent = '';
    var t = h.today.totals, tr = el('tr');
    ['total today (' + h.today.readings.length + ' intervals)', t.producedWh, t.consumedWh, t.chargedWh, t.dischargedWh, '', '']
      .forEach(function (v) { tr.appendChild(el('th', v)); });
    foot.appendChild(tr);
  }

  function row(dl, name, value, cls) {
    dl.appendChild(el('dt', name));
    dl.appendChild(el('dd', value, cls));
  }

  function renderAuction(a) {
    var box = el('div', undefined, 'auction');
    box.dataset.auctionId = a.auctionId;
    box.appendChild(el('h3', 'Auction ' + a.auctionId + ' · delivery ' + time(a.delivery.start) + '–' + time(a.delivery.end)));
    var dl = el('dl');
    var d = a.decision;
    row(dl, d.bid ? 'why it bid' : 'why it did not bid', d.inWords, d.bid ? 'ok' : 'no');
    if (d.bid) row(dl, 'bid', (d.bid.side === 'sell' ? 'offer to sell ' : 'bid to buy ') + d.bid.energyWh + ' Wh at ' + d.bid.priceMillicentsPerKWh + ' millicents/kWh');
    if (d.inputs) {
      var i = d.inputs;
      row(dl, 'inputs', 'state of charge ' + i.socPercent + ' % · forecast PV ' + i.forecastPvWh + ' Wh, load ' + i.forecastLoadWh +
        ' Wh · degradation cost ' + i.degradationCostMillicentsPerKWh + ' millicents/kWh' +
        (i.auctionPriceLimitMillicentsPerKWh === null ? '' : ' · auction price limit ' + i.auctionPriceLimitMillicentsPerKWh + ' millicents/kWh') +
        (i.auctionEnergyWh === null ? '' : ' · auction energy ' + i.auctionEnergyWh + ' Wh'));
    }
    var r = a.result;
    if (r) row(dl, 'result' + (r.source ? ' (from ' + (r.source === 'chain' ? 'the chain' : 'MQTT') + ')' : ''), r.inWords || r.status,
      r.accepted === true ? 'ok' : r.accepted === false ? 'no' : undefined);
    if (r && r.clearingPriceMillicentsPerKWh !== undefined && r.clearingPriceMillicentsPerKWh !== null) {
      row(dl, 'clearing price', r.clearingPriceMillicentsPerKWh + ' millicents/kWh');
    }
    var s = a.settlement;
    if (s) row(dl, 'settlement' + (s.status ? ' (' + s.status + ')' : ''), s.known === false ? s.notKnownHere : s.inWords, s.status === 'unconfirmed' ? 'unconfirmed' : undefined);
    box.appendChild(dl);
    return box;
  }

  function renderMarket(m) {
    var box = el('div', undefined, 'auction');
    box.appendChild(el('h3', 'Delivery ' + time(m.delivery.start) + '–' + time(m.delivery.end)));
    var dl = el('dl');
    row(dl, m.decision.order ? 'order' : 'why no order', m.decision.inWords, m.decision.order ? 'ok' : 'no');
    if (m.inputs) {
      row(dl, 'inputs', 'state of charge at delivery ' + m.inputs.socAtDeliveryStartPercent + ' % · forecast PV ' + m.inputs.forecastPvWh + ' Wh, load ' +
        m.inputs.forecastLoadWh + ' Wh' + (m.inputs.awardWh ? ' · awards ' + m.inputs.awardWh + ' Wh' : '') + (m.inputs.hasBattery ? '' : ' · no battery'));
    }
    if (m.outcome) row(dl, 'result', m.outcome.inWords || m.outcome.status, m.outcome.filledWh > 0 ? 'ok' : undefined);
    if (m.settlement) row(dl, 'settlement' + (m.settlement.status ? ' (' + m.settlement.status + ')' : ''), m.settlement.known === false ? m.settlement.notKnownHere : m.settlement.inWords, m.settlement.status === 'unconfirmed' ? 'unconfirmed' : undefined);
    box.appendChild(dl);
    return box;
  }

  function refresh() {
    return Promise.all([get('api/home'), get('api/auctions?limit=50'), get('api/market?limit=20')]).then(function (res) {
      renderHome(res[0]);
      var market = $('market');
      market.textContent = '';
      if (res[2].items.length === 0) market.appendChild(el('p', 'no P2P order decided since the HEM started', 'muted'));
      res[2].items.forEach(function (m) { market.appendChild(renderMarket(m)); });
      var list = $('auctions');
      list.textContent = '';
      if (res[1].items.length === 0) list.appendChild(el('p', 'no auction seen since the HEM started', 'muted'));
      res[1].items.forEach(function (a) { list.appendChild(renderAuction(a)); });
      probe.refreshes++;
      probe.ready = true;
      document.body.dataset.ready = '1';
    }).catch(function (err) {
      probe.errors.push(String(err));
      $('status').textContent = 'cannot read the HEM: ' + err.message;
    });
  }
  refresh();
  setInterval(refresh, 5000);
})();
